/**
 * Membership: one-at-a-time (single-server) changes, applied as soon as the conf entry is in the
 * log (appended), reverted if that entry is truncated. See docs/raft.md for why this is safe.
 */
import type { ConfChange, ConfState, Entry, NodeId } from "../../schemas/raft.ts"

const decoder = new TextDecoder()
const encoder = new TextEncoder()

export const encodeConfChange = (change: ConfChange): Uint8Array => encoder.encode(JSON.stringify(change))

export const decodeConfChange = (entry: Entry): ConfChange =>
  JSON.parse(decoder.decode(entry.data)) as ConfChange

export const applyConfChange = (conf: ConfState, change: ConfChange): ConfState => {
  const voters = conf.voters.filter((n) => n !== change.node)
  const learners = conf.learners.filter((n) => n !== change.node)
  switch (change.type) {
    case "addVoter":
      voters.push(change.node)
      break
    case "addLearner":
      // A voter is never demoted by addLearner (validation rejects it); keep it a voter.
      if (conf.voters.includes(change.node)) voters.push(change.node)
      else learners.push(change.node)
      break
    case "demoteToLearner":
      learners.push(change.node)
      break
    case "removeNode":
      break
  }
  return { voters, learners, votersOutgoing: [] }
}

/** Why a change is refused by the leader, or null if it is valid against `conf`. */
export const invalidConfChange = (conf: ConfState, change: ConfChange): string | null => {
  const isVoter = conf.voters.includes(change.node)
  const isLearner = conf.learners.includes(change.node)
  switch (change.type) {
    case "addVoter":
      return isVoter ? "already a voter" : null
    case "addLearner":
      if (isVoter) return "cannot demote a voter to learner"
      return isLearner ? "already a learner" : null
    case "removeNode":
      if (!isVoter && !isLearner) return "not a member"
      if (isVoter && conf.voters.length === 1) return "cannot remove the last voter"
      return null
    case "demoteToLearner":
      if (!isVoter) return "not a voter"
      return conf.voters.length === 1 ? "cannot demote the last voter" : null
  }
}

export const sameConf = (a: ConfState, b: ConfState): boolean =>
  a.voters.length === b.voters.length &&
  a.learners.length === b.learners.length &&
  a.voters.every((v) => b.voters.includes(v)) &&
  a.learners.every((v) => b.learners.includes(v))

export const members = (conf: ConfState): NodeId[] => [...conf.voters, ...conf.learners]
