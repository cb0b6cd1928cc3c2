/** One hand-written message of every type, typed against the real union (the compiler checks coverage). */
import type { Message, MessageType } from "../../../src/raft/messages.ts"

type Samples = { readonly [T in MessageType]: Extract<Message, { readonly type: T }> }

const env = { group: 3, from: "n1", to: "n2", term: 7 } as const

export const messageSamples: Samples = {
  preVote: { ...env, type: "preVote", lastIndex: 10, lastTerm: 6 },
  preVoteResp: { ...env, type: "preVoteResp", reject: true },
  vote: { ...env, type: "vote", lastIndex: 10, lastTerm: 6, force: true },
  voteResp: { ...env, type: "voteResp", reject: false },
  append: {
    ...env,
    type: "append",
    prevIndex: 9,
    prevTerm: 6,
    entries: [
      { index: 10, term: 7, type: "normal", data: new Uint8Array([1, 2, 3]) },
      { index: 11, term: 7, type: "conf", data: new TextEncoder().encode('{"type":"addVoter","node":"n4"}') },
      { index: 12, term: 7, type: "noop", data: new Uint8Array() },
    ],
    commit: 9,
  },
  appendResp: { ...env, type: "appendResp", reject: true, index: 9, hintIndex: 5, hintTerm: 4 },
  heartbeat: { ...env, type: "heartbeat", commit: 9, context: 42 },
  heartbeatResp: { ...env, type: "heartbeatResp", context: 42 },
  snapshot: {
    ...env,
    type: "snapshot",
    snapshot: {
      meta: {
        index: 100,
        term: 6,
        conf: { voters: ["n1", "n2", "n3"], learners: ["n4"], votersOutgoing: [] },
      },
      data: new Uint8Array(1000).fill(7),
    },
  },
  timeoutNow: { ...env, type: "timeoutNow" },
  readIndex: { ...env, type: "readIndex", ids: [1, 2, 300000] },
  readIndexResp: { ...env, type: "readIndexResp", ids: [1, 2], index: 0, reject: "notLeader", leader: "n3" },
}

export const allSamples: readonly Message[] = Object.values(messageSamples)

/** A heartbeat for `group` from → to, for tests that only need some traffic. */
export const heartbeat = (group: number, from: string, to: string, context = 0): Message => ({
  type: "heartbeat",
  group,
  from,
  to,
  term: 1,
  commit: 0,
  context,
})
