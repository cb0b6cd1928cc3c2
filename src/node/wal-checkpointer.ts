/**
 * Moves a node's SQLite WAL checkpoints off the JS thread. SQLite checkpoints a WAL database at
 * COMMIT once the WAL passes `wal_autocheckpoint` pages, on the committing connection: copying
 * the pages into the database file and fsyncing the WAL and the file, which stalled every
 * request, Raft step and apply of the node for tens to hundreds of ms (a 6 MB snapshot stored in
 * raft.db: 0.6-1.6 s with it, 0.1-0.5 s without, on a loaded machine). Here the node's
 * connection has `wal_autocheckpoint = 0` and one worker thread per process
 * (checkpoint-worker.ts) runs `wal_checkpoint(PASSIVE)` on its own connection once the WAL is
 * past the same threshold. Durability is unchanged: a checkpoint syncs the WAL before copying and
 * the database file after it whichever connection runs it (at the node's synchronous mode), and
 * acknowledgements still wait for wal-sync.ts's fdatasync. If the worker cannot checkpoint a
 * database, that connection gets its automatic checkpoint back.
 */
import type { SqliteDatabase } from "../storage/driver.ts"
import type { CheckpointReport, CheckpointRequest } from "./checkpoint-worker.ts"

/** The default threshold: 4 MiB of 4 KiB pages (about SQLite's default `wal_autocheckpoint`, 1000). */
export const DEFAULT_CHECKPOINT_BYTES = 4 * 1024 * 1024
const PAGE_BYTES = 4096
const CHECK_EVERY_MS = 50

interface Registered {
  readonly db: SqliteDatabase
  readonly onFallback: (reason: string) => void
  /** The threshold in pages, for SQLite's own checkpoint if the worker gives the database back. */
  readonly pages: number
}

interface Shared {
  readonly worker: Worker
  readonly users: Map<number, Registered>
  /** Removals the worker has not confirmed yet (its connection still open). */
  readonly removing: Map<number, () => void>
}

let shared: Shared | null = null
let nextId = 1

const fallBack = (r: Registered, reason: string): void => {
  try {
    r.db.exec(`PRAGMA wal_autocheckpoint = ${r.pages}`)
  } catch {}
  r.onFallback(reason)
}

const workerFor = (): Shared => {
  if (shared !== null) return shared
  const worker = new Worker(new URL("./checkpoint-worker.ts", import.meta.url).href)
  const users = new Map<number, Registered>()
  const removing = new Map<number, () => void>()
  worker.onmessage = (event: MessageEvent<CheckpointReport>) => {
    const m = event.data
    if (m.op === "removed") {
      removing.get(m.id)?.()
      removing.delete(m.id)
      return
    }
    const r = users.get(m.id)
    if (r === undefined) return
    users.delete(m.id)
    fallBack(r, m.error)
  }
  worker.onerror = (event) => {
    for (const r of users.values()) fallBack(r, `checkpoint worker failed: ${event.message}`)
    users.clear()
    for (const done of removing.values()) done()
    removing.clear()
  }
  // Not keeping the process alive on its own: the node's listeners and timers do.
  worker.unref()
  worker.postMessage({ op: "start", everyMs: CHECK_EVERY_MS } satisfies CheckpointRequest)
  shared = { worker, users, removing }
  return shared
}

/**
 * Hands `db`'s checkpoints to the worker: one once the WAL holds `thresholdBytes` of frames not
 * yet checkpointed (`storage.max_wal_size_mb`). The returned function takes them back and resolves
 * once the worker has closed its connection: await it before closing `db`. `synchronous` is the
 * mode `db` runs at.
 */
export const checkpointOffThread = (
  db: SqliteDatabase,
  synchronous: string,
  onFallback: (reason: string) => void = () => {},
  thresholdBytes: number = DEFAULT_CHECKPOINT_BYTES,
): (() => Promise<void>) => {
  const w = workerFor()
  const id = nextId++
  const pages = Math.max(1, Math.round(thresholdBytes / PAGE_BYTES))
  db.exec("PRAGMA wal_autocheckpoint = 0")
  w.users.set(id, { db, onFallback, pages })
  w.worker.postMessage({
    op: "add",
    id,
    path: db.path,
    synchronous,
    thresholdBytes,
  } satisfies CheckpointRequest)
  return async () => {
    const r = w.users.get(id)
    w.users.delete(id)
    if (r !== undefined) {
      try {
        r.db.exec(`PRAGMA wal_autocheckpoint = ${r.pages}`)
      } catch {}
    }
    await new Promise<void>((resolve) => {
      w.removing.set(id, resolve)
      w.worker.postMessage({ op: "remove", id } satisfies CheckpointRequest)
    })
    if (w.users.size === 0 && w.removing.size === 0 && shared === w) {
      shared = null
      w.worker.terminate()
    }
  }
}
