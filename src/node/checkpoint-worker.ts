/**
 * The worker thread behind wal-checkpointer.ts: holds its own connection to each registered
 * database and runs `PRAGMA wal_checkpoint(PASSIVE)` once the `-wal` file has grown past the
 * threshold, so the checkpoint's copying and fsyncs happen here, never on the node's JS thread.
 * A plain interval drives it: this thread runs no Effect logic, only this I/O loop.
 */
import { Database } from "bun:sqlite"
import { statSync } from "node:fs"
import { WalIndexReader } from "../storage/wal-index.ts"

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
  {
    readonly db: Database
    readonly wal: string
    readonly thresholdBytes: number
    readonly index: WalIndexReader
  }
>()

const walBytes = (wal: string): number => {
  try {
    return statSync(wal).size
  } catch {
    return 0
  }
}

/** Frames are pages plus a 24-byte header; 4 KiB pages (SQLite's default, ours). */
const FRAME_BYTES = 4096 + 24

/**
 * Whether the WAL holds at least the threshold of frames not yet checkpointed. Read from the
 * wal-index (wal-index.ts): the `-wal` file's size stays at its high-water mark, so testing
 * it checkpointed every turn once the file had grown past the threshold.
 */
const due = (d: {
  readonly wal: string
  readonly thresholdBytes: number
  readonly index: WalIndexReader
}) => {
  const pending = d.index.pending()
  return pending === null ? walBytes(d.wal) >= d.thresholdBytes : pending * FRAME_BYTES >= d.thresholdBytes
}

const checkAll = (): void => {
  for (const [id, d] of dbs) {
    if (!due(d)) continue
    try {
      d.db.query("PRAGMA wal_checkpoint(PASSIVE)").get()
    } catch (error) {
      dbs.delete(id)
      d.index.close()
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
      dbs.set(m.id, {
        db,
        wal: `${m.path}-wal`,
        thresholdBytes: m.thresholdBytes,
        index: new WalIndexReader(`${m.path}-shm`),
      })
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
    d?.index.close()
    try {
      d?.db.close()
    } catch {}
    postMessage({ op: "removed", id: m.id } satisfies CheckpointReport)
  }
}
