/**
 * NodeSupervisor: runs each Raft group's actors (see group.ts) as a supervised fiber in a
 * FiberMap keyed by group id, keeps the registry groupId → live GroupHandle, and routes inbound
 * Raft messages to the right replica. When a group's actors fail:
 *  - CorruptionError (a checksum mismatch, a malformed file): the group is QUARANTINED, never
 *    restarted, and reported; wrong data is never served;
 *  - StorageError (the disk failed to make a Ready durable): the group is STOPPED and reported;
 *  - anything else (a defect): restarted with exponential backoff, and reported.
 */
import { Cause, Chunk, Duration, Effect, FiberMap, Queue, type Scope } from "effect"
import type { GroupId } from "../schemas/raft.ts"
import type { Message } from "../src/raft/messages.ts"
import { repeatForever } from "../src/repeat-forever.ts"
import { CorruptionError } from "../src/storage/errors.ts"
import { StorageError } from "../src/storage/service.ts"
import type { TransportShape } from "../src/transport/transport.ts"
import { type GroupDeps, type GroupHandle, runGroup } from "./group.ts"

export type GroupHealth =
  | { readonly state: "running"; readonly restarts: number }
  | { readonly state: "restarting"; readonly restarts: number; readonly reason: string }
  | { readonly state: "quarantined"; readonly reason: string }
  | { readonly state: "stopped"; readonly reason: string }

export interface SupervisorEvent {
  readonly group: GroupId
  readonly health: GroupHealth
}

export interface NodeSupervisor {
  readonly handle: (group: GroupId) => GroupHandle | undefined
  readonly health: (group: GroupId) => GroupHealth | undefined
  readonly groups: () => readonly GroupId[]
}

export interface SupervisorOptions {
  readonly groups: readonly GroupId[]
  /** Builds the dependencies of one (re)start of a group. */
  readonly depsFor: (group: GroupId, restart: number) => GroupDeps
  readonly transport: TransportShape
  readonly report: (event: SupervisorEvent) => void
  /** Sees every inbound Raft message batch before it is routed (liveness, metrics). */
  readonly received?: (messages: readonly Message[], nowMs: number) => void
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number }
}

type Verdict = { kind: "quarantine" | "stop" | "restart"; reason: string }

const classify = (cause: Cause.Cause<unknown>): Verdict => {
  const errors = [...Cause.failures(cause), ...Cause.defects(cause)]
  const corrupt = errors.find((e) => e instanceof CorruptionError)
  if (corrupt !== undefined) return { kind: "quarantine", reason: (corrupt as Error).message }
  const disk = errors.find((e) => e instanceof StorageError)
  if (disk !== undefined) return { kind: "stop", reason: (disk as StorageError).message }
  return { kind: "restart", reason: Cause.pretty(cause).split("\n")[0] ?? "unknown failure" }
}

export const startNodeSupervisor = (
  options: SupervisorOptions,
): Effect.Effect<NodeSupervisor, never, Scope.Scope> =>
  Effect.gen(function* () {
    const handles = new Map<GroupId, GroupHandle>()
    const health = new Map<GroupId, GroupHealth>()
    const fibers = yield* FiberMap.make<GroupId>()
    const backoff = options.backoff ?? { initialMs: 100, maxMs: 5000 }
    const set = (group: GroupId, h: GroupHealth) => {
      health.set(group, h)
      options.report({ group, health: h })
    }

    const supervise = (group: GroupId): Effect.Effect<void> =>
      Effect.gen(function* () {
        let restarts = 0
        while (true) {
          set(group, { state: "running", restarts })
          const publish = (h: GroupHandle | null) => {
            if (h === null) handles.delete(group)
            else handles.set(group, h)
          }
          const exit = yield* Effect.exit(runGroup(options.depsFor(group, restarts), publish))
          if (exit._tag === "Success" || Cause.isInterruptedOnly(exit.cause)) return
          const verdict = classify(exit.cause)
          if (verdict.kind === "quarantine")
            return set(group, { state: "quarantined", reason: verdict.reason })
          if (verdict.kind === "stop") return set(group, { state: "stopped", reason: verdict.reason })
          set(group, { state: "restarting", restarts: restarts + 1, reason: verdict.reason })
          const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(restarts, 20))
          restarts++
          yield* Effect.sleep(Duration.millis(delay))
        }
      })

    for (const group of options.groups) yield* FiberMap.run(fibers, group, supervise(group))

    // Route every inbound Raft message to its group's replica, from the transport's own callback;
    // unknown or down groups drop it.
    const clock = yield* Effect.clock
    const route = (batch: readonly Message[]): void => {
      options.received?.(batch, clock.unsafeCurrentTimeMillis())
      for (const m of batch) handles.get(m.group)?.deliver(m)
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => options.transport.setRaftSink(route)),
      () => Effect.sync(() => options.transport.setRaftSink(null)),
    )
    // Anything queued before the sink was set (or by a link that queues): routed as well.
    yield* Effect.forkScoped(
      repeatForever(
        Effect.map(Queue.takeBetween(options.transport.raftInbox, 1, 4096), (batch) =>
          route(Chunk.toReadonlyArray(batch)),
        ),
      ),
    )

    return {
      handle: (group) => handles.get(group),
      health: (group) => health.get(group),
      groups: () => options.groups,
    }
  })
