/**
 * How many WAL frames of a database have not been copied into the database file yet, read from
 * its wal-index (the `-shm` file) without a connection: `mxFrame` (the last valid frame, in the
 * wal-index header at byte 16) minus `nBackfill` (frames already checkpointed, in the checkpoint
 * info at byte 96). Layout: https://www.sqlite.org/walformat.html ("The WAL-Index Format"), in
 * native byte order. The `-wal` file's size cannot tell this: SQLite reuses the file from its
 * start after a checkpoint and never shrinks it, so once past a threshold it stays past it.
 * A torn read (SQLite writing the header meanwhile) can only make a checkpoint a turn early or
 * late.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs"
import { endianness } from "node:os"

const HEADER_BYTES = 100
const MX_FRAME_AT = 16
const N_BACKFILL_AT = 96

/** Frames not yet checkpointed, from the first 100 bytes of a wal-index. */
export const pendingFrames = (header: Uint8Array): number => {
  if (header.length < HEADER_BYTES) return 0
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength)
  const little = endianness() === "LE"
  const mxFrame = view.getUint32(MX_FRAME_AT, little)
  const nBackfill = view.getUint32(N_BACKFILL_AT, little)
  return mxFrame > nBackfill ? mxFrame - nBackfill : 0
}

/** Reads between two checks that the open `-shm` is still the file at its path. */
const REOPEN_CHECK_EVERY = 20

/**
 * Reads a database's wal-index header on demand; `null` while it cannot be read. Every
 * `REOPEN_CHECK_EVERY` reads it makes sure the file it holds open is still the one at the path
 * (SQLite recreates `-shm` when a database is opened again after its last connection closed), so
 * it never keeps reading a stale copy.
 */
export class WalIndexReader {
  private fd: number | null = null
  private reads = 0
  private readonly header = new Uint8Array(HEADER_BYTES)

  constructor(private readonly shmPath: string) {}

  pending(): number | null {
    try {
      if (this.fd !== null && ++this.reads % REOPEN_CHECK_EVERY === 0) {
        if (statSync(this.shmPath).ino !== fstatSync(this.fd).ino) this.close()
      }
      this.fd ??= openSync(this.shmPath, "r")
      const n = readSync(this.fd, this.header, 0, HEADER_BYTES, 0)
      return n < HEADER_BYTES ? 0 : pendingFrames(this.header)
    } catch {
      this.close()
      return null
    }
  }

  close(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd)
      } catch {}
    }
    this.fd = null
  }
}
