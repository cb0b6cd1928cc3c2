/**
 * The operator's membership verbs, shared by the HTTP admin API (`lattice admin add-node`,
 * `remove-node`) and etcd's Cluster service (`etcdctl member add/remove/promote`). Each goes
 * through the group's leader (`LatticeNode.changeMembership` forwards from a follower).
 */
import { Effect } from "effect"
import type { ConfState, GroupId, NodeId } from "../../schemas/raft.ts"
import type { MembershipFailure } from "./membership.ts"
import { KV_GROUP, type LatticeNode } from "./node.ts"

export type AddNodeOutcome =
  /** Added as a learner; the leader promotes it once it has caught up. */
  | "added"
  /** Already a learner (an earlier add-node): it will be promoted once caught up. */
  | "already-learner"
  | "already-voter"

const confOf = (node: LatticeNode, g: GroupId): ConfState | null => node.group(g)?.view.status.conf ?? null

/** `lattice admin add-node ID`: add as a learner that is promoted automatically once caught up. */
export const addNode = (
  node: LatticeNode,
  id: NodeId,
  g: GroupId = KV_GROUP,
): Effect.Effect<AddNodeOutcome, MembershipFailure> =>
  Effect.gen(function* () {
    const conf = confOf(node, g)
    if (conf?.voters.includes(id)) return "already-voter" as const
    if (conf?.learners.includes(id)) return "already-learner" as const
    yield* node.changeMembership({ type: "addLearner", node: id, promote: true }, g)
    return "added" as const
  })

/** `lattice admin remove-node ID` (the leader included: it hands over leadership once the removal commits). */
export const removeNode = (
  node: LatticeNode,
  id: NodeId,
  g: GroupId = KV_GROUP,
): Effect.Effect<void, MembershipFailure> => node.changeMembership({ type: "removeNode", node: id }, g)

/** etcd's MemberPromote: refused (not retried) while the learner has not caught up. */
export const promoteNode = (
  node: LatticeNode,
  id: NodeId,
  g: GroupId = KV_GROUP,
): Effect.Effect<void, MembershipFailure> => node.changeMembership({ type: "addVoter", node: id }, g)

/** etcd's MemberAdd: a learner (not promoted automatically, as etcd) or a voter at once. */
export const addMember = (
  node: LatticeNode,
  id: NodeId,
  asLearner: boolean,
  g: GroupId = KV_GROUP,
): Effect.Effect<void, MembershipFailure> =>
  node.changeMembership({ type: asLearner ? "addLearner" : "addVoter", node: id }, g)

/** One line for an operator: what failed and what to do next. */
export const membershipFailureText = (f: MembershipFailure): string => {
  switch (f._tag) {
    case "ConfChangeRefused":
      return `refused by the leader: ${f.reason}`
    case "MembershipTimedOut":
      return `${f.message}; check that a leader is elected (lattice status) and retry`
    case "NotLeader":
      return "no leader accepted the change; check that a leader is elected (lattice status) and retry"
    case "ReplicaStopped":
      return `the replica stopped: ${f.reason}`
    case "ReadUnavailable":
      return `unavailable: ${f.reason}`
    case "LeaderChanged":
      return "the leader changed while the change was committing; check lattice status and retry"
    case "Overloaded":
      return "the node is overloaded; retry later"
  }
}
