/**
 * RejoinVoter: a drained node ends as a learner (actors/drain.ts, step 6) and leaves a marker in
 * its data directory. When the node starts again with that marker, this fiber waits until a
 * ReadIndex proves it caught up with the leader's commit, then asks the leader to promote it back
 * to voter and removes the marker: a rolling restart leaves the membership as it found it.
 * A node that is drained again meanwhile stays an observer.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Duration, Effect, Schedule } from "effect"
import type { ConfChange } from "../schemas/raft.ts"
import type { GroupHandle } from "./group.ts"

export const drainedMarker = (dataDir: string): string => join(dataDir, "drained.json")

export const markDrained = (dataDir: string, nodeId: string, atMs: number): void =>
  writeFileSync(drainedMarker(dataDir), `${JSON.stringify({ node: nodeId, drained_at_ms: atMs })}\n`)

export const clearDrained = (dataDir: string): void => rmSync(drainedMarker(dataDir), { force: true })

export interface RejoinDeps {
  readonly nodeId: string
  readonly dataDir: string
  readonly group: () => GroupHandle | undefined
  /** A linearizable barrier: succeeds once this node has applied the leader's commit index. */
  readonly barrier: Effect.Effect<unknown, unknown>
  readonly changeMembership: (change: ConfChange) => Effect.Effect<void, unknown>
  /** True while this process drains the node again: then it stays an observer. */
  readonly draining: () => boolean
  readonly log: (line: string) => void
  readonly retryMs?: number
}

/** Runs until the node is a voter again (or nothing is to be done); never fails. */
export const rejoinAfterDrain = (deps: RejoinDeps): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (!existsSync(drainedMarker(deps.dataDir))) return
    deps.log(`node ${deps.nodeId}: drained before this start; rejoining as a voter once caught up`)
    const attempt = Effect.gen(function* () {
      if (deps.draining()) return "stop" as const
      const conf = deps.group()?.view.status.conf
      if (conf === undefined) return yield* Effect.fail("the KV group is not running yet")
      if (conf.voters.includes(deps.nodeId)) return "voter" as const
      if (!conf.learners.includes(deps.nodeId)) return "stop" as const
      yield* Effect.mapError(deps.barrier, () => "not caught up yet")
      yield* Effect.mapError(deps.changeMembership({ type: "addVoter", node: deps.nodeId }), (e) =>
        typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : String(e),
      )
      return "voter" as const
    })
    const outcome = yield* attempt.pipe(
      Effect.retry(Schedule.spaced(Duration.millis(deps.retryMs ?? 250))),
      Effect.orElseSucceed(() => "stop" as const),
    )
    if (outcome === "voter") {
      clearDrained(deps.dataDir)
      deps.log(`node ${deps.nodeId}: a voter again`)
    } else if (!deps.draining()) {
      clearDrained(deps.dataDir)
      deps.log(`node ${deps.nodeId}: not a member any more; not rejoining`)
    }
  })
