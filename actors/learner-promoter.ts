/**
 * LearnerPromoter: the leader side of `lattice admin add-node`. A node added with
 * `addLearner {promote: true}` replicates as a learner (catching up by snapshot when it is behind
 * the compaction floor); once its match index has stayed within `maxLag` entries of the leader's
 * last index for `stableChecks` consecutive checks, the leader proposes `addVoter` for it. Changes
 * go one at a time (the core refuses a second while one is uncommitted), so several joining
 * learners are promoted in turn. Learners added without the flag (observers, drained voters) are
 * never promoted.
 *
 * The intent travels in the conf entry itself, so whichever node leads next knows it: every
 * replica records it from the entries it appends (`PromotionIntents.observe`).
 */
import { Effect } from "effect"
import type { ConfChange, Entry, NodeId } from "../schemas/raft.ts"
import { decodeConfChange, type RaftStatus } from "../src/raft/index.ts"
import type { ReplicaView } from "./replica-view.ts"

export class PromotionIntents {
  private readonly pending = new Set<NodeId>()

  /** Follows the conf entries of the log, in order: the latest change of a node decides. */
  observe(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== "conf") continue
      const change = decodeConfChange(e)
      if (change.type === "addLearner" && change.promote === true) this.pending.add(change.node)
      else this.pending.delete(change.node)
    }
  }

  has(node: NodeId): boolean {
    return this.pending.has(node)
  }

  get size(): number {
    return this.pending.size
  }
}

/** Learners within this many entries of the leader's last index count as caught up. */
export const LEARNER_MAX_LAG = 1000

/**
 * Leader only: whether `learner` has caught up (its match index within `maxLag` of the last index).
 * Null when this node does not lead (it cannot tell).
 */
export const learnerCaughtUp = (status: RaftStatus, learner: NodeId, maxLag: number): boolean | null => {
  if (status.role !== "leader" || status.progress === null) return null
  const match = status.progress[learner]?.match ?? 0
  return match > 0 && status.lastIndex - match <= maxLag
}

export interface LearnerPromoterDeps {
  readonly view: ReplicaView
  readonly intents: PromotionIntents
  /** Proposes on this node (it leads); fails when it does not or another change is committing. */
  readonly changeConf: (change: ConfChange) => Effect.Effect<void, unknown>
  /** A learner is caught up when its match index is within this many entries of the last index. */
  readonly maxLag: number
  /** Consecutive caught-up checks before promotion (so a learner that just touched the tail waits). */
  readonly stableChecks: number
}

/**
 * One check (and, when a learner has been caught up long enough, its promotion, which waits for
 * the change to commit). The group's ticker runs it every heartbeat interval (group.ts), never
 * two at once.
 */
export const learnerPromoterCheck = (deps: LearnerPromoterDeps): Effect.Effect<void> => {
  const streak = new Map<NodeId, number>()
  return Effect.suspend(() => {
    const st = deps.view.status
    if (st.role !== "leader" || st.progress === null || deps.intents.size === 0) {
      streak.clear()
      return Effect.void
    }
    let candidate: NodeId | null = null
    for (const learner of st.conf.learners) {
      if (!deps.intents.has(learner)) continue
      const caughtUp = learnerCaughtUp(st, learner, deps.maxLag) === true
      const n = caughtUp ? (streak.get(learner) ?? 0) + 1 : 0
      streak.set(learner, n)
      if (n >= deps.stableChecks && candidate === null) candidate = learner
    }
    if (candidate === null) return Effect.void
    const node = candidate
    streak.delete(node)
    return deps.changeConf({ type: "addVoter", node }).pipe(
      Effect.tap(() => Effect.logInfo(`learner ${node} caught up: promoted to voter`)),
      // Refused (another change committing, leadership moved): the next checks try again.
      Effect.ignore,
    )
  })
}
