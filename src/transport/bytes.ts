/**
 * Growable byte writer and bounds-checked reader for the binary frame codec: unsigned LEB128
 * varints (up to 2^53, so every JS safe integer index/term fits), length-prefixed bytes and
 * UTF-8 strings. The reader throws `DecodeFailure` only; the codec turns it into a typed error.
 */

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true })

export class DecodeFailure extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${reason} at byte ${offset}`)
  }
}

export class ByteWriter {
  private buf: Uint8Array
  /** Bytes written so far; may be set back to an earlier value to undo writes. */
  length = 0

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity)
  }

  private reserve(n: number): void {
    const need = this.length + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  u8(value: number): void {
    this.reserve(1)
    this.buf[this.length++] = value & 0xff
  }

  /** Unsigned varint; the caller guarantees a non-negative safe integer. */
  uvarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`not a non-negative safe integer: ${value}`)
    this.reserve(8)
    // Division rather than bit shifts: shifts truncate to 32 bits.
    while (value >= 0x80) {
      this.buf[this.length++] = (value % 0x80) | 0x80
      value = Math.floor(value / 0x80)
    }
    this.buf[this.length++] = value
  }

  bytes(value: Uint8Array): void {
    this.uvarint(value.length)
    this.reserve(value.length)
    this.buf.set(value, this.length)
    this.length += value.length
  }

  string(value: string): void {
    this.bytes(textEncoder.encode(value))
  }

  get capacity(): number {
    return this.buf.length
  }

  /** The written bytes without copying; valid only until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }

  /** A copy of the written bytes (the internal buffer is reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length)
  }

  reset(): void {
    this.length = 0
  }
}

/** 2^53 needs 8 varint bytes; anything longer is corrupt. */
const MAX_VARINT_BYTES = 8

export class ByteReader {
  offset = 0

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.offset
  }

  u8(): number {
    if (this.offset >= this.buf.length) throw new DecodeFailure(this.offset, "unexpected end of frame")
    return this.buf[this.offset++]!
  }

  uvarint(): number {
    const start = this.offset
    let result = 0
    let scale = 1
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const byte = this.u8()
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new DecodeFailure(start, "varint exceeds 2^53")
        return result
      }
      scale *= 0x80
    }
    throw new DecodeFailure(start, "varint too long")
  }

  bytes(): Uint8Array {
    const start = this.offset
    const length = this.uvarint()
    if (length > this.remaining) throw new DecodeFailure(start, `length ${length} exceeds the frame`)
    // Copy, so a decoded message never aliases the transport's receive buffer.
    const out = this.buf.slice(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  string(): string {
    const start = this.offset
    const raw = this.bytes()
    try {
      return textDecoder.decode(raw)
    } catch {
      throw new DecodeFailure(start, "invalid UTF-8 string")
    }
  }
}
