/**
 * What `/readyz` answers (the HA guide's readiness response, field for field) and what the admin
 * API reports about a drain. Typed Effect Schemas, re-exported for SDK users by
 * `src/sdk/readiness.ts`; `docs/operations.md` says what each condition means.
 */
import { Schema } from "effect"

export const ReadinessConditions = Schema.Struct({
  /** The node's copy of the cluster manifest was confirmed by the current term's leader recently. */
  cp_cache_fresh: Schema.Boolean,
  /** The membership configuration in force is committed and this node is a member of it. */
  routing_epoch_valid: Schema.Boolean,
  /** This node knows a leader of the current term. */
  leader_elected: Schema.Boolean,
  /** The latest ReadIndex probe succeeded: linearizable reads can be served here. */
  can_serve_reads: Schema.Boolean,
  /** The client listeners are up and accepting requests (false while draining). */
  adapters_ready: Schema.Boolean,
})
export type ReadinessConditions = typeof ReadinessConditions.Type

export const ReadinessConditionName = Schema.Literal(
  "cp_cache_fresh",
  "routing_epoch_valid",
  "leader_elected",
  "can_serve_reads",
  "adapters_ready",
)
export type ReadinessConditionName = typeof ReadinessConditionName.Type

export const ReadinessReport = Schema.Struct({
  ready: Schema.Boolean,
  conditions: ReadinessConditions,
  /** "sha256:" + hex of the active manifest's canonical JSON. */
  manifest_digest: Schema.String.pipe(Schema.pattern(/^sha256:[0-9a-f]{64}$/)),
  routing_epoch: Schema.NonNegativeInt,
  /** Whole seconds since the manifest was last confirmed by a leader (0 on a fresh confirmation). */
  cache_age_seconds: Schema.NonNegativeInt,
})
export type ReadinessReport = typeof ReadinessReport.Type

export const DrainStepName = Schema.Literal(
  "mark_draining",
  "stop_accepting",
  "wait_inflight",
  "cancel_watches",
  "transfer_leadership",
  "become_observer",
  "drained",
)
export type DrainStepName = typeof DrainStepName.Type

export const DrainStepStatus = Schema.Literal("pending", "running", "done", "skipped", "timed_out", "failed")

export const DrainStepReport = Schema.Struct({
  name: DrainStepName,
  status: DrainStepStatus,
  /** How long the step ran (so far, while running); null before it starts. */
  duration_seconds: Schema.NullOr(Schema.Number),
  /** What happened, in a few words ("leadership moved to n2", "3 watches cancelled"). */
  detail: Schema.String,
})
export type DrainStepReport = typeof DrainStepReport.Type

export const DrainState = Schema.Literal("idle", "running", "drained", "failed", "cancelled")
export type DrainState = typeof DrainState.Type

export const DrainStatus = Schema.Struct({
  node: Schema.String,
  state: DrainState,
  /** The step running now (or the last one reached); null when idle. */
  step: Schema.NullOr(DrainStepName),
  time_in_step_seconds: Schema.Number,
  inflight_requests: Schema.NonNegativeInt,
  watches: Schema.NonNegativeInt,
  duration_seconds: Schema.Number,
  steps: Schema.Array(DrainStepReport),
  error: Schema.NullOr(Schema.String),
})
export type DrainStatus = typeof DrainStatus.Type
