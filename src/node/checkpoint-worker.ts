/**
 * The worker thread behind wal-checkpointer.ts: holds its own connection to each registered
 * database and runs `PRAGMA wal_checkpoint(PASSIVE)` once the `-wal` file has grown past the
 * threshold, so the checkpoint's copying and fsyncs happen here, never on the node's JS thread.
 * A plain timer drives it, more often as a WAL fills: this thread runs no Effect logic, only
 * this I/O loop.
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
const fill = (d: {
  readonly wal: string
  readonly thresholdBytes: number
  readonly index: WalIndexReader
}): number => {
  const pending = d.index.pending()
  return (pending === null ? walBytes(d.wal) : pending * FRAME_BYTES) / d.thresholdBytes
}

/**
 * Checkpoints every database whose WAL is due; returns how full (of the threshold) the fullest
 * one not checkpointed now is, which sets the delay before the next look.
 */
const checkAll = (): number => {
  let fullest = 0
  for (const [id, d] of dbs) {
    const f = fill(d)
    if (f < 1) {
      fullest = Math.max(fullest, f)
      continue
    }
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
  return fullest
}

/**
 * Looks every `everyMs` while a WAL is past half its threshold, less often below: an idle or
 * lightly loaded node's thread then wakes 5 times a second instead of 20 (each wake-up is dear
 * on a small VM). A WAL below a quarter of its threshold is 3 MiB of frames away from it, about
 * half a second of a saturated 3-node put load: a checkpoint starts at most one check late, and
 * late only means a somewhat larger checkpoint.
 */
const nextDelay = (everyMs: number, fullest: number): number =>
  fullest < 0.25 ? everyMs * 4 : fullest < 0.5 ? everyMs * 2 : everyMs

const loop = (everyMs: number): void => {
  let fullest = 1
  try {
    fullest = checkAll()
  } finally {
    // Whatever happened, keep looking (as an interval would).
    setTimeout(() => loop(everyMs), nextDelay(everyMs, fullest))
  }
}

self.onmessage = (event: MessageEvent<CheckpointRequest>) => {
  const m = event.data
  if (m.op === "start") {
    setTimeout(() => loop(m.everyMs), m.everyMs)
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
