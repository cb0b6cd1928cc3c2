/**
 * The worker thread behind wal-checkpointer.ts: holds its own connection to each registered
 * database and runs `PRAGMA wal_checkpoint(PASSIVE)` once the `-wal` file has grown past the
 * threshold, so the checkpoint's copying and fsyncs happen here, never on the node's JS thread.
 * A plain interval drives it: this thread runs no Effect logic, only this I/O loop.
 */
import { Database } from "bun:sqlite"
import { statSync } from "node:fs"

declare const self: Worker

export type CheckpointRequest =
  | {
      readonly op: "add"
      readonly id: number
      readonly path: string
      readonly synchronous: string
      readonly thresholdBytes: number
    }
  | { readonly op: "remove"; readonly id: number }
  | { readonly op: "start"; readonly everyMs: number }

/** What the worker reports: a database it could not checkpoint (the main side falls back), or one it let go. */
export type CheckpointReport =
  | { readonly op: "failed"; readonly id: number; readonly error: string }
  | { readonly op: "removed"; readonly id: number }

const dbs = new Map<
  number,
  { readonly db: Database; readonly wal: string; readonly thresholdBytes: number }
>()

const walBytes = (wal: string): number => {
  try {
    return statSync(wal).size
  } catch {
    return 0
  }
}

const checkAll = (): void => {
  for (const [id, d] of dbs) {
    if (walBytes(d.wal) < d.thresholdBytes) continue
    try {
      d.db.query("PRAGMA wal_checkpoint(PASSIVE)").get()
    } catch (error) {
      dbs.delete(id)
      try {
        d.db.close()
      } catch {}
      postMessage({
        op: "failed",
        id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies CheckpointReport)
    }
  }
}

self.onmessage = (event: MessageEvent<CheckpointRequest>) => {
  const m = event.data
  if (m.op === "start") {
    setInterval(checkAll, m.everyMs)
  } else if (m.op === "add") {
    try {
      const db = new Database(m.path, { create: false })
      db.exec("PRAGMA busy_timeout = 5000")
      // The checkpointing connection's own mode decides the checkpoint's syncs: the node's.
      db.exec(`PRAGMA synchronous = ${m.synchronous}`)
      dbs.set(m.id, { db, wal: `${m.path}-wal`, thresholdBytes: m.thresholdBytes })
    } catch (error) {
      postMessage({
        op: "failed",
        id: m.id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies CheckpointReport)
    }
  } else {
    const d = dbs.get(m.id)
    dbs.delete(m.id)
    try {
      d?.db.close()
    } catch {}
    postMessage({ op: "removed", id: m.id } satisfies CheckpointReport)
  }
}
