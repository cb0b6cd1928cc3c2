/**
 * A minimal binary writer/reader: zigzag varints for integers (safe JS integers only),
 * length-prefixed bytes and strings. Used by the command codec and snapshots.
 */
import { utf8 } from "./bytes.ts"

const decoder = new TextDecoder("utf-8", { fatal: true })

export class CodecError extends Error {
  override readonly name = "CodecError"
}

const MAX_INT64 = 2n ** 63n - 1n
const MIN_INT64 = -(2n ** 63n)
const MAX_UINT64 = 2n ** 64n - 1n

export class BinaryWriter {
  private buf: Uint8Array
  private pos = 0

  constructor(initial = 64) {
    this.buf = new Uint8Array(initial)
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.pos++] = v
    return this
  }

  /** Unsigned varint for a non-negative safe integer. */
  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(`not a non-negative safe integer: ${v}`)
    this.ensure(8)
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
    return this
  }

  /** Zigzag varint for any safe integer. */
  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new CodecError(`not a safe integer: ${v}`)
    return this.uint(v >= 0 ? v * 2 : -v * 2 - 1)
  }

  /**
   * Zigzag varint for any int64 (lease ids, compare operands). For safe integers it writes the
   * same bytes as `int`, so entries written before ids were int64 decode unchanged.
   */
  int64(v: bigint): this {
    if (v > MAX_INT64 || v < MIN_INT64) throw new CodecError(`not an int64: ${v}`)
    if (v >= 0n && v < 0x40n) return this.u8(Number(v) * 2)
    let z = v >= 0n ? v * 2n : -v * 2n - 1n
    this.ensure(10)
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80
      z >>= 7n
    }
    this.buf[this.pos++] = Number(z)
    return this
  }

  bool(v: boolean | undefined): this {
    return this.u8(v ? 1 : 0)
  }

  bytes(v: Uint8Array): this {
    this.uint(v.length)
    this.ensure(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
    return this
  }

  string(v: string): this {
    return this.bytes(utf8(v))
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

export class BinaryReader {
  private pos = 0
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new CodecError("truncated input")
    return this.buf[this.pos++]!
  }

  uint(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8()
      result += (b & 0x7f) * scale
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new CodecError("varint out of range")
        return result
      }
      scale *= 0x80
    }
    throw new CodecError("varint too long")
  }

  int(): number {
    const z = this.uint()
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2
  }

  int64(): bigint {
    let z = 0n
    for (let i = 0; i < 10; i++) {
      const b = this.u8()
      z |= BigInt(b & 0x7f) << BigInt(7 * i)
      if (b < 0x80) {
        if (z > MAX_UINT64) throw new CodecError("int64 varint out of range")
        return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n)
      }
    }
    throw new CodecError("int64 varint too long")
  }

  bool(): boolean {
    const b = this.u8()
    if (b > 1) throw new CodecError(`bad boolean ${b}`)
    return b === 1
  }

  bytes(): Uint8Array {
    const n = this.uint()
    if (this.pos + n > this.buf.length) throw new CodecError("truncated bytes")
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string(): string {
    return decoder.decode(this.bytes())
  }

  end(): void {
    if (!this.done) throw new CodecError("trailing bytes")
  }
}
