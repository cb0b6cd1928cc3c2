/** Byte-string helpers: etcd orders keys by unsigned bytewise comparison. */
import type { Bytes } from "../../schemas/kv.ts"

export const EMPTY: Bytes = new Uint8Array(0)

export const compareBytes = (a: Bytes, b: Bytes): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

export const bytesEqual = (a: Bytes, b: Bytes): boolean => a.length === b.length && compareBytes(a, b) === 0

/** `rangeEnd = [0]` is etcd's "every key >= key" form. */
export const isFromKey = (rangeEnd: Bytes | undefined): boolean =>
  rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0

const encoder = new TextEncoder()
const decoder = new TextDecoder()
export const utf8 = (s: string): Bytes => encoder.encode(s)
export const fromUtf8 = (b: Bytes): string => decoder.decode(b)

/** A latin1 string with one char per byte: a cheap, order-preserving map key for a byte string. */
export const bytesKey = (b: Bytes): string => {
  let s = ""
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!)
  return s
}

/** The byte string a `bytesKey` string stands for. */
export const keyBytes = (id: string): Bytes => {
  const b = new Uint8Array(id.length)
  for (let i = 0; i < id.length; i++) b[i] = id.charCodeAt(i)
  return b
}
