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
