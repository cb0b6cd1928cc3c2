/**
 * What the crash child writes, shared with the parent that checks it: the data of every entry
 * is a pure function of (group, index), so the parent can verify content, not just presence.
 */
export const GROUPS = [1, 2, 3] as const

export const entryData = (group: number, index: number): Uint8Array => {
  const length = 16 + ((index * 37 + group * 11) % 480)
  const out = new Uint8Array(length)
  let s = (group * 0x9e3779b1 + index * 0x85ebca6b) >>> 0
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s >>> 24
  }
  return out
}

/** Snapshot data at `index`: several chunks' worth, also a pure function of (group, index). */
export const snapshotData = (group: number, index: number): Uint8Array => {
  const part = entryData(group, index)
  const out = new Uint8Array(10_000 + (index % 7) * 1000)
  for (let off = 0; off < out.length; off += part.length) out.set(part.subarray(0, out.length - off), off)
  return out
}

export const SNAPSHOT_CHUNK_BYTES = 4096
