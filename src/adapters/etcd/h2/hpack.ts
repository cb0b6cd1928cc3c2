/**
 * HPACK (RFC 7541) for the gRPC server: a decoder with its dynamic table, and the few header
 * blocks the server sends, encoded as literals that never touch the peer's dynamic table (so the
 * encoder keeps no state).
 */
import { HuffmanError, huffmanDecode } from "./huffman.ts"

// biome-ignore format: the RFC's static table, index 1 first
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""],
  ["cache-control", ""], ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""],
  ["content-length", ""], ["content-location", ""], ["content-range", ""], ["content-type", ""],
  ["cookie", ""], ["date", ""], ["etag", ""], ["expect", ""], ["expires", ""], ["from", ""], ["host", ""],
  ["if-match", ""], ["if-modified-since", ""], ["if-none-match", ""], ["if-range", ""],
  ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""], ["location", ""], ["max-forwards", ""],
  ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""], ["referer", ""], ["refresh", ""],
  ["retry-after", ""], ["server", ""], ["set-cookie", ""], ["strict-transport-security", ""],
  ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""], ["www-authenticate", ""],
]

/** A malformed header block: the connection must end with COMPRESSION_ERROR (RFC 7540 §4.3). */
export class HpackError extends Error {}

/** The per-entry overhead of RFC 7541 §4.1. */
const ENTRY_OVERHEAD = 32

export type HeaderList = Array<readonly [string, string]>

export class HpackDecoder {
  /** Newest entry first, as HPACK indexes them. */
  private readonly dynamic: Array<readonly [string, string]> = []
  private size = 0
  private maxSize: number

  /** `maxTableSize` is what this side advertised as SETTINGS_HEADER_TABLE_SIZE. */
  constructor(private readonly maxTableSize = 4096) {
    this.maxSize = maxTableSize
  }

  /** Decodes one complete header block (HEADERS plus any CONTINUATION fragments). */
  decode(block: Uint8Array): HeaderList {
    const out: HeaderList = []
    let at = 0
    const end = block.length
    let headerSeen = false
    while (at < end) {
      const b = block[at]!
      if (b & 0x80) {
        const [index, next] = readInt(block, at, 7)
        at = next
        out.push(this.entry(index))
        headerSeen = true
      } else if (b & 0x40) {
        const [entry, next] = this.literal(block, at, 6)
        at = next
        this.insert(entry)
        out.push(entry)
        headerSeen = true
      } else if (b & 0x20) {
        // A table size update must come first in a block (RFC 7541 §4.2).
        if (headerSeen) throw new HpackError("HPACK: dynamic table size update after a header")
        const [size, next] = readInt(block, at, 5)
        at = next
        if (size > this.maxTableSize)
          throw new HpackError(`HPACK: table size ${size} above ${this.maxTableSize}`)
        this.maxSize = size
        this.evict(0)
      } else {
        // Literal without indexing (0000) or never indexed (0001): 4-bit prefix.
        const [entry, next] = this.literal(block, at, 4)
        at = next
        out.push(entry)
        headerSeen = true
      }
    }
    return out
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError("HPACK: index 0")
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!
    const e = this.dynamic[index - STATIC_TABLE.length - 1]
    if (e === undefined) throw new HpackError(`HPACK: index ${index} outside the tables`)
    return e
  }

  private literal(block: Uint8Array, at: number, prefix: number): [readonly [string, string], number] {
    const [index, afterIndex] = readInt(block, at, prefix)
    let name: string
    let next = afterIndex
    if (index === 0) {
      const [n, afterName] = readString(block, next)
      name = n
      next = afterName
    } else name = this.entry(index)[0]
    const [value, afterValue] = readString(block, next)
    return [[name, value], afterValue]
  }

  private insert(entry: readonly [string, string]): void {
    const size = entry[0].length + entry[1].length + ENTRY_OVERHEAD
    this.evict(size)
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    if (size > this.maxSize) return
    this.dynamic.unshift(entry)
    this.size += size
  }

  /** Evicts the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.size + room > this.maxSize) {
      const e = this.dynamic.pop()!
      this.size -= e[0].length + e[1].length + ENTRY_OVERHEAD
    }
  }
}

/** An HPACK integer with an N-bit prefix at `at` (RFC 7541 §5.1): [value, offset after it]. */
export const readInt = (block: Uint8Array, at: number, prefix: number): [number, number] => {
  const max = (1 << prefix) - 1
  let value = block[at]! & max
  let next = at + 1
  if (value < max) return [value, next]
  let shift = 0
  for (;;) {
    if (next >= block.length) throw new HpackError("HPACK: truncated integer")
    const b = block[next++]!
    value += (b & 0x7f) * 2 ** shift
    shift += 7
    if ((b & 0x80) === 0) break
    if (shift > 28) throw new HpackError("HPACK: integer too large")
  }
  return [value, next]
}

const latin1 = new TextDecoder("latin1")

/** An HPACK string literal at `at` (RFC 7541 §5.2): [latin1 text, offset after it]. */
const readString = (block: Uint8Array, at: number): [string, number] => {
  if (at >= block.length) throw new HpackError("HPACK: truncated string")
  const huffman = (block[at]! & 0x80) !== 0
  const [length, start] = readInt(block, at, 7)
  const end = start + length
  if (end > block.length) throw new HpackError("HPACK: string past the end of the block")
  if (!huffman) return [latin1.decode(block.subarray(start, end)), end]
  try {
    return [huffmanDecode(block, start, end), end]
  } catch (e) {
    throw new HpackError(e instanceof HuffmanError ? e.message : String(e))
  }
}

/** Appends an HPACK integer with an N-bit prefix; `first` holds the representation's flag bits. */
export const writeInt = (out: number[], first: number, prefix: number, value: number): void => {
  const max = (1 << prefix) - 1
  if (value < max) {
    out.push(first | value)
    return
  }
  out.push(first | max)
  let rest = value - max
  while (rest >= 128) {
    out.push((rest % 128) | 0x80)
    rest = Math.floor(rest / 128)
  }
  out.push(rest)
}

/** Appends a raw (not Huffman-coded) string literal of latin1 text. */
const writeString = (out: number[], s: string): void => {
  writeInt(out, 0, 7, s.length)
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff)
}

/**
 * Encodes headers as "literal without indexing" (or the static table's exact entry for
 * `:status: 200`), so nothing enters the peer's dynamic table.
 */
export const encodeHeaders = (headers: ReadonlyArray<readonly [string, string]>): Uint8Array => {
  const out: number[] = []
  for (const [name, value] of headers) {
    if (name === ":status" && value === "200") {
      out.push(0x88)
      continue
    }
    const nameIndex = STATIC_TABLE.findIndex(([n]) => n === name) + 1
    writeInt(out, 0x00, 4, nameIndex)
    if (nameIndex === 0) writeString(out, name)
    writeString(out, value)
  }
  return Uint8Array.from(out)
}
