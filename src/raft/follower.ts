/** The follower side of replication: appends with conflict hints, and heartbeats. */
import { firstIndexOfTerm, lastIndex, termAt } from "./log.ts"
import { appendToLog, truncateLog } from "./log-ops.ts"
import type { AppendRequest, AppendResponse, HeartbeatRequest } from "./messages.ts"
import type { RaftState } from "./state.ts"

export const handleAppend = (s: RaftState, m: AppendRequest): void => {
  const log = s.log
  const last = lastIndex(log)
  // Entries at or below our commit are known to match the leader's (and may be compacted away).
  if (m.prevIndex >= s.commit && termAt(log, m.prevIndex) !== m.prevTerm) {
    let hintIndex: number
    let hintTerm: number
    if (m.prevIndex > last) {
      hintIndex = last + 1
      hintTerm = 0
    } else {
      hintTerm = termAt(log, m.prevIndex)
      hintIndex = firstIndexOfTerm(log, m.prevIndex, s.commit)
    }
    s.out.messages.push(appendResponse(s, m.from, true, m.prevIndex, hintIndex, hintTerm))
    return
  }
  const entries = m.entries
  let i = 0
  while (i < entries.length && entries[i]!.index <= s.commit) i++
  for (; i < entries.length; i++) {
    const e = entries[i]!
    const t = termAt(log, e.index)
    if (t === e.term) continue
    if (t >= 0) truncateLog(s, e.index)
    for (; i < entries.length; i++) appendToLog(s, entries[i]!)
    break
  }
  const lastNew = m.prevIndex + entries.length
  if (m.commit > s.commit) {
    const c = Math.min(m.commit, lastNew)
    if (c > s.commit) s.commit = c
  }
  s.out.messages.push(appendResponse(s, m.from, false, Math.max(lastNew, s.commit), 0, 0))
}

export const appendResponse = (
  s: RaftState,
  to: string,
  reject: boolean,
  index: number,
  hintIndex: number,
  hintTerm: number,
): AppendResponse => ({
  type: "appendResp",
  group: s.group,
  from: s.id,
  to,
  term: s.term,
  reject,
  index,
  hintIndex,
  hintTerm,
})

export const handleHeartbeat = (s: RaftState, m: HeartbeatRequest): void => {
  // The leader caps the commit at what we acknowledged as durable: past our log end, we lost it.
  const last = lastIndex(s.log)
  if (m.commit > last) s.out.logLost = { leader: m.from, acknowledged: m.commit, lastIndex: last }
  if (m.commit > s.commit) s.commit = Math.min(m.commit, last)
  s.out.messages.push({
    type: "heartbeatResp",
    group: s.group,
    from: s.id,
    to: m.from,
    term: s.term,
    context: m.context,
  })
}
