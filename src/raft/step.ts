/**
 * The pure step function. It mutates `state` in place and returns it with the Ready: the caller
 * owns the state linearly and must only use the returned one.
 */
import type { Input, Ready } from "./api.ts"
import { leaderPersisted } from "./commit.ts"
import { campaign } from "./election.ts"
import { termAt } from "./log.ts"
import { propose, proposeConfChange } from "./proposals.ts"
import { readIndex } from "./read-index.ts"
import { takeReady } from "./ready.ts"
import { receive } from "./receive.ts"
import { snapshotTaken } from "./snapshot.ts"
import type { RaftState } from "./state.ts"
import { tick } from "./tick.ts"
import { abortTransfer, transferLeader } from "./transfer.ts"

export const step = (s: RaftState, input: Input): readonly [RaftState, Ready] => {
  switch (input.type) {
    case "tick":
      tick(s)
      break
    case "message":
      receive(s, input.message)
      break
    case "propose":
      propose(s, [input])
      break
    case "proposeBatch":
      propose(s, input.proposals)
      break
    case "readIndex":
      readIndex(s, input.id)
      break
    case "confChange":
      proposeConfChange(s, input.id, input.change)
      break
    case "transferLeader":
      transferLeader(s, input.to)
      break
    case "abortTransfer":
      abortTransfer(s)
      break
    case "campaign":
      campaign(s, "force")
      break
    case "persisted":
      if (input.index > s.persistedIndex && termAt(s.log, input.index) === input.term) {
        s.persistedIndex = input.index
        if (s.role === "leader") leaderPersisted(s)
      }
      break
    case "applied":
      if (input.index > s.applied) s.applied = Math.min(input.index, s.handedOut)
      break
    case "snapshotTaken":
      snapshotTaken(s, input.snapshot, input.keepEntries)
      break
  }
  return [s, takeReady(s)]
}
