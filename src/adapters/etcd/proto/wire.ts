/**
 * Protobuf wire-format writer and reader used by the generated etcd codecs (`etcd.gen.ts`).
 *
 * Representation: int64/uint64/sint64/fixed64 are `bigint` (etcd revisions, lease and member ids
 * use the full 64 bits), 32-bit integers and enums are `number`, bytes are `Uint8Array`.
 */

/** Raised on malformed wire data; the gRPC layer turns it into INVALID_ARGUMENT/INTERNAL. */
export class ProtoDecodeError extends Error {
  override readonly name = "ProtoDecodeError"
}

export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0)

const TWO_32 = 0x1_0000_0000
const MASK_64 = (1n << 64n) - 1n
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: false })

/** UTF-8 byte length of a JS string without encoding it. */
export const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d < 0xe000) {
        i++
        n += 4
      } else n += 3
    } else n += 3
  }
  return n
}

export class ProtoWriter {
  private buf: Uint8Array
  private pos = 0
  /** Start offsets of the length-delimited sections still open (see fork/ldelim). */
  private readonly open: number[] = []

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize)
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  tag(field: number, wireType: number): void {
    this.uint32(((field << 3) | wireType) >>> 0)
  }

  /** Varint of a non-negative integer below 2^32. */
  uint32(v: number): void {
    this.ensure(5)
    const b = this.buf
    while (v > 0x7f) {
      b[this.pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    b[this.pos++] = v
  }

  /** Negative int32 values take 10 bytes (sign-extended to 64 bits), as protobuf requires. */
  int32(v: number): void {
    if (v >= 0) this.uint32(v)
    else this.varint64(v >>> 0, 0xffffffff)
  }

  bool(v: boolean): void {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
  }

  uint64(v: bigint): void {
    if (v >= 0n && v < 0x1_0000_0000n) {
      this.uint32(Number(v))
      return
    }
    const u = v & MASK_64
    this.varint64(Number(u & 0xffffffffn), Number(u >> 32n))
  }

  /** int64 uses the same two's-complement varint as uint64. */
  int64(v: bigint): void {
    this.uint64(v)
  }

  private varint64(lo: number, hi: number): void {
    this.ensure(10)
    const b = this.buf
    while (hi > 0 || lo > 0x7f) {
      b[this.pos++] = (lo & 0x7f) | 0x80
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    b[this.pos++] = lo
  }

  bytes(v: Uint8Array): void {
    this.uint32(v.length)
    this.ensure(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
  }

  string(v: string): void {
    const n = utf8Length(v)
    this.uint32(n)
    this.ensure(n)
    textEncoder.encodeInto(v, this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
  }

  /** Opens a length-delimited section; its length is written by the matching ldelim(). */
  fork(): void {
    this.ensure(1)
    this.open.push(this.pos)
    this.pos += 1
  }

  ldelim(): void {
    const start = this.open.pop()
    if (start === undefined) throw new Error("ProtoWriter.ldelim without fork")
    const len = this.pos - start - 1
    let n = 1
    for (let v = len; v > 0x7f; v >>>= 7) n++
    if (n > 1) {
      // The one reserved byte is too small: shift the body right to make room.
      this.ensure(n - 1)
      this.buf.copyWithin(start + n, start + 1, this.pos)
      this.pos += n - 1
    }
    let p = start
    let v = len
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[p] = v
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }

  /** Clears the writer for reuse, keeping its grown buffer. */
  reset(): this {
    this.pos = 0
    this.open.length = 0
    return this
  }
}

let shared: ProtoWriter | undefined

/**
 * One writer reused by every top-level encode (encoding is synchronous and never re-entered),
 * so encoding allocates only the returned bytes.
 */
export const sharedWriter = (): ProtoWriter => {
  shared ??= new ProtoWriter(64 * 1024)
  return shared.reset()
}

export class ProtoReader {
  pos: number
  readonly end: number

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start
    this.end = end
  }

  private truncated(): never {
    throw new ProtoDecodeError("unexpected end of protobuf message")
  }

  /** Reads a varint and keeps its low 32 bits, unsigned. */
  uint32(): number {
    let result = 0
    let shift = 0
    const b = this.buf
    while (shift < 35) {
      if (this.pos >= this.end) this.truncated()
      const byte = b[this.pos++]!
      result += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return result % TWO_32
      shift += 7
    }
    // The remaining bytes of a 64-bit varint only carry high bits that a 32-bit value drops.
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.truncated()
      if (b[this.pos++]! < 0x80) return result % TWO_32
    }
    throw new ProtoDecodeError("varint is longer than 10 bytes")
  }

  int32(): number {
    return this.uint32() | 0
  }

  bool(): boolean {
    return this.uint64() !== 0n
  }

  uint64(): bigint {
    // Fast path: most revisions, counts and lengths fit in one or two bytes.
    const b0 = this.buf[this.pos]
    if (b0 !== undefined && b0 < 0x80 && this.pos < this.end) {
      this.pos++
      return BigInt(b0)
    }
    let lo = 0
    let hi = 0
    const b = this.buf
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated()
      const byte = b[this.pos++]!
      if (i < 4) lo |= (byte & 0x7f) << (i * 7)
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28
        hi |= (byte & 0x7f) >> 4
      } else hi |= (byte & 0x7f) << (i * 7 - 32)
      if (byte < 0x80) {
        if (hi === 0) return BigInt(lo >>> 0)
        return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)
      }
    }
    throw new ProtoDecodeError("varint is longer than 10 bytes")
  }

  int64(): bigint {
    return BigInt.asIntN(64, this.uint64())
  }

  private length(): number {
    const n = this.uint32()
    if (this.pos + n > this.end) this.truncated()
    return n
  }

  /**
   * A view into the input, not a copy: decoded messages alias the bytes they were decoded from
   * (gRPC hands each message its own buffer, so nothing else writes to it).
   */
  bytes(): Uint8Array {
    const n = this.length()
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string(): string {
    const n = this.length()
    const out = textDecoder.decode(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return out
  }

  /** Returns the end offset of an embedded message and leaves pos at its first byte. */
  sub(): number {
    const n = this.length()
    return this.pos + n
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uint64()
        return
      case WIRE_I64:
        this.advance(8)
        return
      case WIRE_LEN:
        this.advance(this.length())
        return
      case WIRE_I32:
        this.advance(4)
        return
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wireType}`)
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) this.truncated()
    this.pos += n
  }

  wrongWireType(field: number, wireType: number): never {
    throw new ProtoDecodeError(`field ${field}: unexpected wire type ${wireType}`)
  }
}
