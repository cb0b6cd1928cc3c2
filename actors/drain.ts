/**
 * The drain workflow (HA guide, "Graceful Drain Procedure"): one supervised fiber per drain that
 * runs the steps in order, each observable through `status` (step, time in step, in-flight
 * requests, watches) and the whole cancellable:
 *  1. mark_draining: readiness answers 503 at once;
 *  2. stop_accepting: new client requests get UNAVAILABLE "retry against another endpoint";
 *  3. wait_inflight: wait for requests in flight, up to `[admin] drain_timeout_seconds`;
 *  4. cancel_watches: every watch is cancelled with a reason clients act on;
 *  5. transfer_leadership: a leader hands over to its most up-to-date voter, waiting up to
 *     `leadership_transfer_timeout_seconds` for another node to lead;
 *  6. become_observer: the node asks the leader to demote it to a learner (it keeps the log,
 *     takes no part in quorums or elections);
 *  7. drained: ready for `lattice admin shutdown --graceful`.
 * Cancelling reopens the gate and, if the node was already demoted, promotes it back to voter.
 * A shutdown drain (SIGTERM, `startForShutdown`) skips step 6: the process is about to stop and
 * restart as it was, so the membership stays as it is.
 */
import { Clock, Deferred, Duration, Effect, FiberHandle, type Scope } from "effect"
import type { ConfChange } from "../schemas/raft.ts"
import type { DrainState, DrainStatus, DrainStepName, DrainStepReport } from "../schemas/readiness.ts"
import type { GroupHandle } from "./group.ts"
import type { RequestGate } from "./request-gate.ts"

/** What the drain needs of the node's watch engine (the watch hub implements it). */
export interface WatchControl {
  readonly count: () => number
  /** Ends every watch with `reason` and refuses new ones until `acceptNew`. */
  readonly cancelAll: (reason: string) => void
  readonly acceptNew: () => void
}

export interface DrainDeps {
  readonly nodeId: string
  readonly gate: RequestGate
  /** The KV group (leadership and membership are judged on it). */
  readonly group: () => GroupHandle | undefined
  readonly changeMembership: (change: ConfChange) => Effect.Effect<void, { readonly _tag: string }>
  readonly watches: () => WatchControl | undefined
  readonly drainTimeoutMs: number
  readonly transferTimeoutMs: number
  /** Records that the node is being demoted (so a restart rejoins as a voter); see rejoin-voter.ts. */
  readonly markDrained?: () => void
  readonly clearDrained?: () => void
  /** One line per step transition (the node's log). */
  readonly log?: (line: string) => void
}

export class DrainConflict extends Error {
  override readonly name = "DrainConflict"
  readonly _tag = "DrainConflict"
}

/** The numbers behind `lattice_drain_*` (read by the metrics registry). */
export interface DrainMetrics {
  readonly inProgress: boolean
  /** 0 when idle, else the 1-based number of the current step (7 = drained). */
  readonly step: number
  readonly durationSeconds: number
  readonly inflightRequests: number
  readonly drainsStarted: number
  readonly drainsCancelled: number
}

export interface DrainController {
  /** Starts a drain; fails with DrainConflict if one is running or done. */
  readonly start: Effect.Effect<DrainStatus, DrainConflict>
  /** Starts a drain that keeps the node a voter (steps 1–5, then drained): the SIGTERM path. */
  readonly startForShutdown: Effect.Effect<DrainStatus, DrainConflict>
  /** Cancels a running (or finished) drain and reopens the node. */
  readonly cancel: Effect.Effect<DrainStatus, DrainConflict>
  readonly status: Effect.Effect<DrainStatus>
  /** Completes when the current drain ends (drained, failed or cancelled). */
  readonly awaitEnd: Effect.Effect<DrainStatus>
  readonly metrics: Effect.Effect<DrainMetrics>
}

export const DRAIN_STEPS: readonly DrainStepName[] = [
  "mark_draining",
  "stop_accepting",
  "wait_inflight",
  "cancel_watches",
  "transfer_leadership",
  "become_observer",
  "drained",
]

export const WATCH_CANCEL_REASON = "node draining: reconnect the watch to another endpoint"

type StepResult = { readonly status: DrainStepReport["status"]; readonly detail: string }

interface MutableStep {
  name: DrainStepName
  status: DrainStepReport["status"]
  startedAt: number | null
  endedAt: number | null
  detail: string
}

export const makeDrainController = (deps: DrainDeps): Effect.Effect<DrainController, never, Scope.Scope> =>
  Effect.gen(function* () {
    const handle = yield* FiberHandle.make<void, never>()
    let state: DrainState = "idle"
    let steps: MutableStep[] = []
    let current = -1
    let startedAt = 0
    let endedAt: number | null = null
    let error: string | null = null
    let demoted = false
    let ended = yield* Deferred.make<void>()
    let started = 0
    let cancelled = 0
    const log = deps.log ?? (() => {})

    const fresh = (): MutableStep[] =>
      DRAIN_STEPS.map((name) => ({ name, status: "pending", startedAt: null, endedAt: null, detail: "" }))

    const status = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const step = current >= 0 ? steps[current] : undefined
      return {
        node: deps.nodeId,
        state,
        step: step?.name ?? null,
        time_in_step_seconds: step?.startedAt == null ? 0 : ((step.endedAt ?? now) - step.startedAt) / 1000,
        inflight_requests: deps.gate.inflight,
        watches: deps.watches()?.count() ?? 0,
        duration_seconds: state === "idle" ? 0 : ((endedAt ?? now) - startedAt) / 1000,
        steps: steps.map(
          (s): DrainStepReport => ({
            name: s.name,
            status: s.status,
            duration_seconds: s.startedAt === null ? null : ((s.endedAt ?? now) - s.startedAt) / 1000,
            detail: s.detail,
          }),
        ),
        error,
      } satisfies DrainStatus
    })

    const runStep = (index: number, body: Effect.Effect<StepResult, string>) =>
      Effect.gen(function* () {
        const s = steps[index]!
        current = index
        s.startedAt = yield* Clock.currentTimeMillis
        s.status = "running"
        log(`drain ${deps.nodeId}: step ${index + 1}/${DRAIN_STEPS.length} ${s.name}`)
        const result = yield* Effect.either(body)
        s.endedAt = yield* Clock.currentTimeMillis
        if (result._tag === "Left") {
          s.status = "failed"
          s.detail = result.left
          log(`drain ${deps.nodeId}: ${s.name} failed: ${result.left}`)
          return yield* Effect.fail(`${s.name}: ${result.left}`)
        }
        s.status = result.right.status
        s.detail = result.right.detail
        log(`drain ${deps.nodeId}: ${s.name} ${s.status}: ${s.detail}`)
      })

    const waitInflight = Effect.gen(function* () {
      const before = deps.gate.inflight
      const done = yield* deps.gate.idle.pipe(
        Effect.timeout(Duration.millis(deps.drainTimeoutMs)),
        Effect.option,
      )
      if (done._tag === "Some")
        return { status: "done", detail: `${before} in-flight request(s) finished` } as const
      return {
        status: "timed_out",
        detail: `${deps.gate.inflight} request(s) still in flight after ${deps.drainTimeoutMs / 1000} s; going on`,
      } as const
    })

    const cancelWatches = Effect.sync((): StepResult => {
      const w = deps.watches()
      if (w === undefined) return { status: "skipped", detail: "no watch engine on this node" }
      const n = w.count()
      w.cancelAll(WATCH_CANCEL_REASON)
      return { status: "done", detail: `${n} watch(es) cancelled` }
    })

    const transfer = Effect.gen(function* () {
      const first = deps.group()?.view.status
      if (first === undefined) return yield* Effect.fail("the KV group is not running")
      if (first.role !== "leader")
        return { status: "skipped", detail: `not the leader (leader: ${first.leader ?? "none"})` } as const
      const deadline = (yield* Clock.currentTimeMillis) + deps.transferTimeoutMs
      let target: string | null = null
      while ((yield* Clock.currentTimeMillis) < deadline) {
        const h = deps.group()
        const st = h?.view.status
        if (h === undefined || st === undefined) return yield* Effect.fail("the KV group stopped")
        if (st.role !== "leader" && st.leader !== null && st.leader !== deps.nodeId)
          return { status: "done", detail: `leadership moved to ${st.leader}` } as const
        if (st.role === "leader" && st.transferee === null) {
          target = mostUpToDateVoter(st, deps.nodeId)
          if (target === null) return { status: "skipped", detail: "no other voter to hand over to" } as const
          yield* h.send({ _tag: "transferLeader", to: target })
        }
        yield* Effect.sleep(Duration.millis(10))
      }
      return {
        status: "timed_out",
        detail: `leadership did not move${target === null ? "" : ` to ${target}`} within ${deps.transferTimeoutMs / 1000} s; the demotion hands it over`,
      } as const
    })

    const becomeObserver = Effect.gen(function* () {
      const st = deps.group()?.view.status
      if (st === undefined) return yield* Effect.fail("the KV group is not running")
      if (!st.conf.voters.includes(deps.nodeId))
        return { status: "skipped", detail: "already not a voter" } as const
      if (st.conf.voters.length === 1)
        return { status: "skipped", detail: "the only voter: there is no quorum to hand over to" } as const
      deps.markDrained?.()
      demoted = true
      yield* deps
        .changeMembership({ type: "demoteToLearner", node: deps.nodeId })
        .pipe(Effect.mapError((e) => `demotion refused: ${"reason" in e ? String(e.reason) : e._tag}`))
      return { status: "done", detail: "now a learner: it keeps the log but does not vote" } as const
    })

    const workflow = (forShutdown: boolean) =>
      Effect.gen(function* () {
        yield* runStep(
          0,
          Effect.sync(() => {
            deps.gate.draining = true
            return { status: "done", detail: "readiness reports 503" } as const
          }),
        )
        yield* runStep(
          1,
          Effect.sync(() => {
            deps.gate.accepting = false
            return {
              status: "done",
              detail: "new client requests get UNAVAILABLE (retry elsewhere)",
            } as const
          }),
        )
        yield* runStep(2, waitInflight)
        yield* runStep(3, cancelWatches)
        yield* runStep(4, transfer)
        yield* runStep(
          5,
          forShutdown
            ? Effect.succeed({
                status: "skipped",
                detail: "shutting down: the node stays a voter and rejoins as one when restarted",
              } as const)
            : becomeObserver,
        )
        yield* runStep(
          6,
          Effect.succeed({
            status: "done",
            detail: forShutdown ? "stopping the process" : "ready for lattice admin shutdown --graceful",
          }),
        )
        state = "drained"
      }).pipe(
        Effect.catchAll((e) =>
          Effect.sync(() => {
            state = "failed"
            error = e
          }),
        ),
        Effect.onInterrupt(() => undo),
        Effect.ensuring(
          Effect.gen(function* () {
            endedAt = yield* Clock.currentTimeMillis
            yield* Deferred.succeed(ended, undefined)
          }),
        ),
      )

    /** After a cancel: the node serves again, as a voter if the drain had demoted it. */
    const undo = Effect.gen(function* () {
      state = "cancelled"
      const step = current >= 0 ? steps[current] : undefined
      if (step !== undefined && step.status === "running") step.status = "failed"
      if (step !== undefined && step.detail === "") step.detail = "cancelled"
      deps.gate.reopen()
      deps.watches()?.acceptNew()
      if (demoted) {
        const back = yield* Effect.either(deps.changeMembership({ type: "addVoter", node: deps.nodeId }))
        error =
          back._tag === "Right"
            ? null
            : `cancelled, but promoting ${deps.nodeId} back to voter failed (${back.left._tag}); run lattice admin drain --cancel again`
        if (back._tag === "Right") {
          demoted = false
          deps.clearDrained?.()
        }
      }
      log(`drain ${deps.nodeId}: cancelled${error === null ? "" : `: ${error}`}`)
    })

    const startWith = (forShutdown: boolean) =>
      Effect.gen(function* () {
        if (state === "running" || state === "drained")
          return yield* Effect.fail(
            new DrainConflict(
              state === "running"
                ? `node ${deps.nodeId} is already draining; see lattice admin drain-status`
                : `node ${deps.nodeId} is already drained; restart it, or cancel with lattice admin drain --cancel`,
            ),
          )
        steps = fresh()
        current = -1
        error = null
        endedAt = null
        state = "running"
        started++
        startedAt = yield* Clock.currentTimeMillis
        ended = yield* Deferred.make<void>()
        yield* FiberHandle.run(handle, workflow(forShutdown))
        return yield* status
      })

    const cancel = Effect.gen(function* () {
      if (state === "idle" || state === "cancelled")
        return yield* Effect.fail(new DrainConflict(`node ${deps.nodeId} is not draining`))
      cancelled++
      if (state === "running") {
        yield* FiberHandle.clear(handle)
      } else {
        // Finished (drained or failed): undo what it did.
        yield* undo
      }
      return yield* status
    })

    const metrics = Effect.gen(function* () {
      const s = yield* status
      return {
        inProgress: state === "running",
        step: state === "idle" ? 0 : current + 1,
        durationSeconds: s.duration_seconds,
        inflightRequests: deps.gate.inflight,
        drainsStarted: started,
        drainsCancelled: cancelled,
      }
    })

    return {
      start: startWith(false),
      startForShutdown: startWith(true),
      cancel,
      status,
      awaitEnd: Effect.suspend(() => Deferred.await(ended)).pipe(Effect.zipRight(status)),
      metrics,
    } satisfies DrainController
  })

/** The voter (other than self) whose log matches the leader's furthest; active ones first. */
export const mostUpToDateVoter = (st: GroupHandle["view"]["status"], self: string): string | null => {
  let best: { id: string; match: number; active: boolean } | null = null
  for (const id of st.conf.voters) {
    if (id === self) continue
    const p = st.progress?.[id]
    const cand = { id, match: p?.match ?? 0, active: p?.recentActive ?? false }
    if (
      best === null ||
      (cand.active && !best.active) ||
      (cand.active === best.active && cand.match > best.match)
    )
      best = cand
  }
  return best?.id ?? null
}
