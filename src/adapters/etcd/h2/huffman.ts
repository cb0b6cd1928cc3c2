/**
 * HPACK's static Huffman code (RFC 7541, Appendix B). The code is canonical: within one length,
 * codes rise with the symbol. So the 257 code lengths (256 octets and EOS) define it, and the
 * codes are derived from them once at load time.
 */

// biome-ignore format: one row of 16 symbols per line, as the RFC's table reads
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30, // EOS
]

export const EOS = 256
const SYMBOLS = CODE_LENGTHS.length

/** The code of each symbol, right-aligned in its length (canonical assignment). */
export const huffmanCodes: readonly number[] = (() => {
  const order = [...CODE_LENGTHS.keys()].sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b)
  const codes = new Array<number>(SYMBOLS).fill(0)
  let code = 0
  let length = CODE_LENGTHS[order[0]!]!
  for (const [i, symbol] of order.entries()) {
    const len = CODE_LENGTHS[symbol]!
    if (i > 0) code = (code + 1) * 2 ** (len - length)
    length = len
    codes[symbol] = code
  }
  return codes
})()
export const huffmanLengths: readonly number[] = CODE_LENGTHS

/**
 * Decoding tree as flat arrays: node n has children `child[2n]` (bit 0) and `child[2n + 1]`
 * (bit 1); a child below 0 is the leaf of symbol `-child - 1`.
 */
const tree: Int32Array = (() => {
  const child = new Int32Array(2 * 2 * SYMBOLS).fill(0)
  let nodes = 1
  for (let symbol = 0; symbol < SYMBOLS; symbol++) {
    const len = CODE_LENGTHS[symbol]!
    const code = huffmanCodes[symbol]!
    let node = 0
    for (let bit = len - 1; bit >= 0; bit--) {
      const b = Math.floor(code / 2 ** bit) & 1
      const slot = 2 * node + b
      if (bit === 0) child[slot] = -symbol - 1
      else {
        if (child[slot] === 0) child[slot] = nodes++
        node = child[slot]!
      }
    }
  }
  return child
})()

export class HuffmanError extends Error {}

/** Decodes `bytes[start, end)`; throws on EOS in the data or on padding that is not a prefix of EOS. */
export const huffmanDecode = (bytes: Uint8Array, start: number, end: number): string => {
  let out = ""
  let node = 0
  // Bits read since the last complete symbol, and whether all of them were 1 (EOS's prefix).
  let pending = 0
  let allOnes = true
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1
      const next = tree[2 * node + b]!
      pending++
      if (b === 0) allOnes = false
      if (next < 0) {
        const symbol = -next - 1
        if (symbol === EOS) throw new HuffmanError("HPACK: EOS in a Huffman-coded string")
        out += String.fromCharCode(symbol)
        node = 0
        pending = 0
        allOnes = true
      } else if (next === 0) {
        throw new HuffmanError("HPACK: invalid Huffman code")
      } else node = next
    }
  }
  if (pending > 7 || !allOnes) throw new HuffmanError("HPACK: invalid Huffman padding")
  return out
}

/** Length in bytes of `s` (latin1) Huffman-coded. */
export const huffmanEncodedLength = (s: string): number => {
  let bits = 0
  for (let i = 0; i < s.length; i++) bits += CODE_LENGTHS[s.charCodeAt(i) & 0xff]!
  return Math.ceil(bits / 8)
}

/** Huffman-codes `s` (latin1) into `out` at `offset`; returns the offset after it. */
export const huffmanEncode = (s: string, out: Uint8Array, offset: number): number => {
  let acc = 0
  let bits = 0
  let at = offset
  for (let i = 0; i < s.length; i++) {
    const symbol = s.charCodeAt(i) & 0xff
    const len = CODE_LENGTHS[symbol]!
    const code = huffmanCodes[symbol]!
    // Feed the code a byte at a time so `acc` stays below 2^32.
    for (let bit = len - 1; bit >= 0; bit--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** bit) & 1)
      if (++bits === 8) {
        out[at++] = acc
        acc = 0
        bits = 0
      }
    }
  }
  if (bits > 0) out[at++] = ((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff
  return at
}
