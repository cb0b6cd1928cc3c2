/**
 * The simulator's own view of membership, rebuilt from applied conf entries. It is independent of
 * the core's bookkeeping (one-at-a-time changes; see src/raft/conf.ts for the contract) so that
 * snapshot metadata handed back to the core is computed from the log, not copied from the core.
 */
import type { ConfChange, ConfState, Entry, NodeId } from "../../schemas/raft.ts"

const decoder = new TextDecoder()

export const decodeConf = (entry: Entry): ConfChange => JSON.parse(decoder.decode(entry.data)) as ConfChange

export const applyChange = (conf: ConfState, change: ConfChange): ConfState => {
  const voters = conf.voters.filter((n) => n !== change.node)
  const learners = conf.learners.filter((n) => n !== change.node)
  if (change.type === "addVoter") voters.push(change.node)
  if (change.type === "addLearner") (conf.voters.includes(change.node) ? voters : learners).push(change.node)
  if (change.type === "demoteToLearner") learners.push(change.node)
  return { voters: voters.sort(), learners: learners.sort(), votersOutgoing: [] }
}

export const membersOf = (conf: ConfState): NodeId[] => [...conf.voters, ...conf.learners]
