/**
 * `lattice admin snapshot <node>` and `lattice admin compact-log <node> <keep>` on any node:
 * run locally when `<node>` is this node, otherwise asked of that node over the Transport
 * (service "log-maintenance"; JSON request and reply). A snapshot is taken at the applied index
 * now; `compact-log` then compacts the Raft log keeping the last `keep` entries and returns the
 * freed pages to the file system.
 */
import { Duration, Effect } from "effect"
import type { SnapshotReport } from "../../actors/mailbox.ts"
import type { GroupId, NodeId } from "../../schemas/raft.ts"
import type { TransportShape } from "../transport/transport.ts"
import type { LatticeNode } from "./node.ts"

export const LOG_MAINTENANCE_SERVICE = "log-maintenance"

export interface LogMaintenanceRequest {
  readonly group: GroupId
  /** Absent: a snapshot with the configured `snapshot_keep_entries`; present: compact-log. */
  readonly keep?: number
}

export interface LogMaintenanceReport extends SnapshotReport {
  readonly node: NodeId
  readonly group: GroupId
  /** Pages of raft.db returned to the file system after compaction. */
  readonly reclaimedPages: number
}

export class LogMaintenanceFailed extends Error {
  override readonly name = "LogMaintenanceFailed"
  readonly _tag = "LogMaintenanceFailed"
}

type Reply =
  | { readonly ok: true; readonly report: LogMaintenanceReport }
  | { readonly ok: false; readonly error: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Runs the request on this node's replica of `req.group`. */
export const runLocally = (
  node: Pick<LatticeNode, "group" | "logStore" | "options">,
  req: LogMaintenanceRequest,
): Effect.Effect<LogMaintenanceReport, LogMaintenanceFailed> =>
  Effect.gen(function* () {
    const h = node.group(req.group)
    if (h === undefined)
      return yield* Effect.fail(
        new LogMaintenanceFailed(`group ${req.group} is not running on ${node.options.nodeId}`),
      )
    const report = yield* h
      .snapshotNow(req.keep)
      .pipe(Effect.mapError((e) => new LogMaintenanceFailed(`${node.options.nodeId}: ${e.reason}`)))
    let reclaimedPages = 0
    if (req.keep !== undefined) {
      // Bounded steps, each a short transaction, so writers are never held for long.
      while (true) {
        const r = node.logStore.reclaimSpace(4096)
        reclaimedPages += r.reclaimedPages
        if (r.freelistPages === 0 || r.reclaimedPages === 0) break
        yield* Effect.yieldNow()
      }
    }
    return { ...report, node: node.options.nodeId, group: req.group, reclaimedPages }
  })

export const serveLogMaintenance = (
  transport: TransportShape,
  node: Pick<LatticeNode, "group" | "logStore" | "options">,
) =>
  transport.serve(LOG_MAINTENANCE_SERVICE, (payload) =>
    runLocally(node, JSON.parse(decoder.decode(payload)) as LogMaintenanceRequest).pipe(
      Effect.match({
        onSuccess: (report): Reply => ({ ok: true, report }),
        onFailure: (e): Reply => ({ ok: false, error: e.message }),
      }),
      Effect.map((reply) => encoder.encode(JSON.stringify(reply))),
    ),
  )

/** Runs the request on `target` (this node or another, over the Transport). */
export const logMaintenance = (
  node: Pick<LatticeNode, "group" | "logStore" | "options" | "transport">,
  target: NodeId,
  req: LogMaintenanceRequest,
  timeoutMs: number,
): Effect.Effect<LogMaintenanceReport, LogMaintenanceFailed> =>
  target === node.options.nodeId
    ? runLocally(node, req)
    : node.transport
        .request(
          target,
          LOG_MAINTENANCE_SERVICE,
          encoder.encode(JSON.stringify(req)),
          Duration.millis(timeoutMs),
        )
        .pipe(
          Effect.mapError(
            (e) =>
              new LogMaintenanceFailed(
                `node ${target} did not answer (${e._tag}): is it running and connected to NATS?`,
              ),
          ),
          Effect.flatMap((bytes) => {
            const reply = JSON.parse(decoder.decode(bytes)) as Reply
            return reply.ok
              ? Effect.succeed(reply.report)
              : Effect.fail(new LogMaintenanceFailed(reply.error))
          }),
        )
