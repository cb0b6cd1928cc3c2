/**
 * Makes a WAL-mode database's commits durable off the JS thread. The database runs with
 * `synchronous=NORMAL`: a COMMIT writes its WAL frames to the OS (no fsync), and SQLite still
 * syncs the WAL before each checkpoint and the database file after it, so checkpoints stay
 * safe. `sync` then runs fdatasync on the `-wal` file in the runtime's I/O thread pool: when it
 * completes, every transaction committed before the call is on stable storage (the WAL's
 * checksum chain means a crash can only ever lose a suffix of unsynced transactions, never
 * leave a hole). The event loop keeps stepping, receiving and applying while the disk syncs.
 *
 * Guards: the first sync (and any sync after the `-wal` file was recreated) also syncs the
 * directory, so the file's own entry is durable; a `-wal` file replaced under us (another
 * connection closing the database as its last user) is detected by inode and reopened
 * rather than synced through a stale descriptor.
 */
import { closeSync, fdatasync, fstatSync, fsyncSync, openSync, statSync } from "node:fs"
import { dirname } from "node:path"

export type SyncDone = (error: Error | null) => void

export interface WalSyncer {
  readonly walPath: string
  /** Calls `done` once everything committed before this call is durable. */
  sync(done: SyncDone): void
  close(): void
}

export const walSyncer = (dbPath: string): WalSyncer => {
  const walPath = `${dbPath}-wal`
  let fd: number | null = null
  let inode = -1

  /** The descriptor of the current `-wal` file, (re)opened when needed. */
  const current = (): number => {
    const onDisk = statSync(walPath).ino
    if (fd !== null && inode === onDisk && fstatSync(fd).ino === onDisk) return fd
    if (fd !== null) closeSync(fd)
    fd = openSync(walPath, "r+")
    inode = fstatSync(fd).ino
    const dir = openSync(dirname(walPath), "r")
    try {
      fsyncSync(dir)
    } finally {
      closeSync(dir)
    }
    return fd
  }

  return {
    walPath,
    sync(done) {
      let target: number
      try {
        target = current()
      } catch (error) {
        done(asError(error, walPath))
        return
      }
      fdatasync(target, (error) => done(error === null ? null : asError(error, walPath)))
    },
    close() {
      if (fd !== null) closeSync(fd)
      fd = null
    },
  }
}

const asError = (error: unknown, walPath: string): Error =>
  new Error(`fdatasync of ${walPath} failed: ${error instanceof Error ? error.message : String(error)}`)
