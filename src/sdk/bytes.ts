/** Keys and values: strings are UTF-8, bytes pass through. */
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export type Bytes = string | Uint8Array

export const toBytes = (b: Bytes): Uint8Array => (typeof b === "string" ? encoder.encode(b) : b)
export const text = (b: Uint8Array | undefined): string => (b === undefined ? "" : decoder.decode(b))

/** The smallest key greater than every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export const prefixEnd = (prefix: Uint8Array): Uint8Array => {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1
      return end.slice(0, i + 1)
    }
  }
  // All 0xff (or empty): every key from prefix on.
  return new Uint8Array([0])
}
