/**
 * Fragmentation of one message too large for a frame (typically an InstallSnapshot), so snapshots
 * larger than NATS's max_payload still get through.
 *
 *   fragment = kind:u8(=2) from:string messageId:uvarint count:uvarint index:uvarint
 *              totalBytes:uvarint chunkSize:uvarint chunk:bytes
 *
 * The chunks, in index order, concatenate to an ordinary batch frame holding that one message.
 * The receiver keeps a few assemblies per sender (NATS delivers one publisher's messages in
 * order; the in-memory network may reorder or duplicate) and forgets the oldest when more start,
 * so a lost fragment costs only that message: Raft resends the snapshot.
 */
import { Either } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { ByteReader, ByteWriter, DecodeFailure } from "./bytes.ts"
import { FrameDecodeError } from "./errors.ts"

export const FRAGMENT_KIND = 2
/** Room for the fragment header: kind, node id (≤128 ASCII + length), six varints. */
const HEADER_ALLOWANCE = 1 + 2 + 128 + 6 * 8

export const isFragment = (frame: Uint8Array): boolean => frame[0] === FRAGMENT_KIND

/** Splits `frame` into fragments of at most `maxFrameBytes` each (which must leave room for a chunk). */
export const fragmentFrame = (
  frame: Uint8Array,
  from: NodeId,
  messageId: number,
  maxFrameBytes: number,
): Uint8Array[] => {
  const chunkSize = maxFrameBytes - HEADER_ALLOWANCE - new TextEncoder().encode(from).length
  if (chunkSize < 1) throw new RangeError(`maxFrameBytes ${maxFrameBytes} leaves no room for a fragment`)
  const count = Math.ceil(frame.length / chunkSize)
  const out: Uint8Array[] = []
  for (let index = 0; index < count; index++) {
    const chunk = frame.subarray(index * chunkSize, Math.min(frame.length, (index + 1) * chunkSize))
    const w = new ByteWriter(chunk.length + HEADER_ALLOWANCE)
    w.u8(FRAGMENT_KIND)
    w.string(from)
    w.uvarint(messageId)
    w.uvarint(count)
    w.uvarint(index)
    w.uvarint(frame.length)
    w.uvarint(chunkSize)
    w.bytes(chunk)
    out.push(w.finish())
  }
  return out
}

/** Pieces are kept as they come (memory follows what was received, not what a header claims). */
interface Assembly {
  readonly messageId: number
  readonly totalBytes: number
  readonly chunkSize: number
  readonly count: number
  readonly chunks: Map<number, Uint8Array>
}

export interface ReassemblerLimits {
  /** A message larger than this is refused (protects memory against a corrupt header). */
  readonly maxMessageBytes: number
  /** Assemblies kept per sender; starting one more forgets the oldest. */
  readonly maxPerSender: number
}

export class Reassembler {
  private readonly bySender = new Map<NodeId, Assembly[]>()

  constructor(private readonly limits: ReassemblerLimits) {}

  /** Returns the complete frame when `fragment` was the last piece missing, else null. */
  accept(fragment: Uint8Array): Either.Either<Uint8Array | null, FrameDecodeError> {
    const r = new ByteReader(fragment)
    try {
      if (r.u8() !== FRAGMENT_KIND) throw new DecodeFailure(0, "not a fragment")
      const from = r.string()
      const messageId = r.uvarint()
      const countAt = r.offset
      const count = r.uvarint()
      const index = r.uvarint()
      const totalBytes = r.uvarint()
      const chunkSize = r.uvarint()
      const chunk = r.bytes()
      if (r.remaining !== 0) throw new DecodeFailure(r.offset, `${r.remaining} trailing bytes`)
      if (totalBytes > this.limits.maxMessageBytes) {
        throw new DecodeFailure(countAt, `fragmented message of ${totalBytes} bytes exceeds the limit`)
      }
      if (chunkSize < 1 || count !== Math.ceil(totalBytes / chunkSize) || index >= count) {
        throw new DecodeFailure(countAt, "inconsistent fragment header")
      }
      const expected = index < count - 1 ? chunkSize : totalBytes - chunkSize * (count - 1)
      if (chunk.length !== expected)
        throw new DecodeFailure(countAt, "fragment length does not match its header")

      const assemblies = this.bySender.get(from) ?? []
      let assembly = assemblies.find((a) => a.messageId === messageId)
      if (
        assembly &&
        (assembly.count !== count || assembly.totalBytes !== totalBytes || assembly.chunkSize !== chunkSize)
      ) {
        throw new DecodeFailure(countAt, "fragment disagrees with earlier fragments of its message")
      }
      if (!assembly) {
        assembly = { messageId, totalBytes, chunkSize, count, chunks: new Map() }
        assemblies.push(assembly)
        if (assemblies.length > this.limits.maxPerSender) assemblies.shift()
        this.bySender.set(from, assemblies)
      }
      assembly.chunks.set(index, chunk)
      if (assembly.chunks.size < assembly.count) return Either.right(null)
      assemblies.splice(assemblies.indexOf(assembly), 1)
      if (assemblies.length === 0) this.bySender.delete(from)
      const whole = new Uint8Array(totalBytes)
      for (const [at, piece] of assembly.chunks) whole.set(piece, at * chunkSize)
      return Either.right(whole)
    } catch (error) {
      if (error instanceof DecodeFailure) {
        return Either.left(new FrameDecodeError({ offset: error.offset, reason: error.reason }))
      }
      return Either.left(new FrameDecodeError({ offset: r.offset, reason: `unexpected: ${String(error)}` }))
    }
  }

  /** Messages being assembled (for tests and stats). */
  get pending(): number {
    let n = 0
    for (const assemblies of this.bySender.values()) n += assemblies.length
    return n
  }
}
