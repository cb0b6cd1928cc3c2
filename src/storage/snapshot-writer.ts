/**
 * Streams a snapshot into the log store without holding it in memory: bytes are cut into
 * fixed-size chunks, each stored with its own CRC under a fresh snapshot id. The chunks stay
 * invisible until `commit` makes them the group's snapshot in one transaction; chunks left by
 * a writer that crashed or aborted are dropped by the next commit of that group.
 */
import type { GroupId, SnapshotMeta } from "../../schemas/raft.ts"
import { CRC32_INIT, crc32Final, crc32Update } from "./crc32.ts"
import type { LogStore } from "./log-store.ts"

export class SnapshotWriter {
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private seq = 0
  private size = 0
  private crcState = CRC32_INIT
  private done = false

  constructor(
    private readonly store: LogStore,
    readonly group: GroupId,
    readonly meta: SnapshotMeta,
    readonly snapId: number,
  ) {}

  /** Adds bytes; every full chunk is written (one transaction per call that completes chunks). */
  write(bytes: Uint8Array): void {
    this.assertOpen()
    this.crcState = crc32Update(this.crcState, bytes)
    this.size += bytes.length
    this.pending.push(bytes.slice()) // the caller may reuse its buffer
    this.pendingBytes += bytes.length
    if (this.pendingBytes >= this.store.snapshotChunkBytes) this.flush(false)
  }

  /** Writes the tail and makes this the group's snapshot (dropping the log up to it). */
  commit(): void {
    this.assertOpen()
    this.done = true
    this.store.guarded(() =>
      this.store.db.transaction(() => {
        this.writeChunks(true)
        this.store.finalizeSnapshotInTx(
          this.group,
          this.meta,
          this.snapId,
          this.size,
          this.seq,
          crc32Final(this.crcState),
        )
      }),
    )
  }

  /** Discards everything written so far. */
  abort(): void {
    if (this.done) return
    this.done = true
    this.pending = []
    this.store.guarded(() =>
      this.store.db.transaction(() => this.store.dropChunksInTx(this.group, this.snapId)),
    )
  }

  private flush(all: boolean): void {
    this.store.guarded(() => this.store.db.transaction(() => this.writeChunks(all)))
  }

  /** Cuts pending bytes into chunks; keeps a short tail unless `all`. */
  private writeChunks(all: boolean): void {
    const chunkBytes = this.store.snapshotChunkBytes
    if (this.pendingBytes === 0) return
    const buf = concat(this.pending, this.pendingBytes)
    let off = 0
    for (; off + chunkBytes <= buf.length; off += chunkBytes) {
      this.store.insertChunkInTx(this.group, this.snapId, this.seq++, buf.subarray(off, off + chunkBytes))
    }
    if (all && off < buf.length) {
      this.store.insertChunkInTx(this.group, this.snapId, this.seq++, buf.subarray(off))
      off = buf.length
    }
    const tail = buf.subarray(off)
    this.pending = tail.length > 0 ? [tail.slice()] : []
    this.pendingBytes = tail.length
  }

  private assertOpen(): void {
    if (this.done) throw new Error("SnapshotWriter: already committed or aborted")
  }
}

const concat = (parts: readonly Uint8Array[], total: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}
