/**
 * Which watchers care about a key, for many watchers at once. Three indexes, so matching one
 * key costs O(key length) rather than O(watchers):
 *  - single keys: a map from the key;
 *  - prefixes (a range whose end is the prefix's successor, what `--prefix` sends): a map from
 *    the prefix, probed with each prefix length some watcher uses;
 *  - any other range ([key, end) or every key >= key): a list scanned in full (rare in practice).
 */
import { bytesKey, compareBytes } from "../bytes.ts"
import { type KeySpan, spanContains } from "../store.ts"

/** The smallest key greater than every key starting with `prefix`; undefined when there is none. */
export const prefixEnd = (prefix: Uint8Array): Uint8Array | undefined => {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      // A copy: `slice` of a Node Buffer would be a view, and the += below would change the key.
      const end = Uint8Array.from(prefix.subarray(0, i + 1))
      end[i]! += 1
      return end
    }
  }
  return undefined
}

const isPrefixSpan = (span: KeySpan): boolean => {
  if (span.kind !== "between") return false
  const end = prefixEnd(span.key)
  return end !== undefined && compareBytes(end, span.end) === 0
}

export class KeyMatcher<W extends { readonly span: KeySpan }> {
  private readonly exact = new Map<string, Set<W>>()
  private readonly prefixes = new Map<string, Set<W>>()
  /** How many prefix watchers use each prefix length (to probe only those lengths). */
  private readonly prefixLengths = new Map<number, number>()
  private readonly others = new Set<W>()
  private count = 0

  get size(): number {
    return this.count
  }

  add(w: W): void {
    this.count++
    const span = w.span
    if (span.kind === "one") addTo(this.exact, bytesKey(span.key), w)
    else if (isPrefixSpan(span)) {
      addTo(this.prefixes, bytesKey(span.key), w)
      this.prefixLengths.set(span.key.length, (this.prefixLengths.get(span.key.length) ?? 0) + 1)
    } else this.others.add(w)
  }

  delete(w: W): boolean {
    const span = w.span
    let removed: boolean
    if (span.kind === "one") removed = removeFrom(this.exact, bytesKey(span.key), w)
    else if (isPrefixSpan(span)) {
      removed = removeFrom(this.prefixes, bytesKey(span.key), w)
      if (removed) {
        const left = (this.prefixLengths.get(span.key.length) ?? 1) - 1
        if (left === 0) this.prefixLengths.delete(span.key.length)
        else this.prefixLengths.set(span.key.length, left)
      }
    } else removed = this.others.delete(w)
    if (removed) this.count--
    return removed
  }

  /** Calls `f` once for every watcher whose span contains `key`. */
  forEachMatch(key: Uint8Array, f: (w: W) => void): void {
    const k = bytesKey(key)
    const one = this.exact.get(k)
    if (one !== undefined) for (const w of one) f(w)
    for (const length of this.prefixLengths.keys()) {
      if (length > k.length) continue
      const set = this.prefixes.get(length === k.length ? k : k.slice(0, length))
      if (set !== undefined) for (const w of set) f(w)
    }
    for (const w of this.others) if (spanContains(w.span, key)) f(w)
  }

  *all(): Generator<W> {
    for (const set of this.exact.values()) yield* set
    for (const set of this.prefixes.values()) yield* set
    yield* this.others
  }
}

const addTo = <W>(map: Map<string, Set<W>>, key: string, w: W): void => {
  const set = map.get(key)
  if (set === undefined) map.set(key, new Set([w]))
  else set.add(w)
}

const removeFrom = <W>(map: Map<string, Set<W>>, key: string, w: W): boolean => {
  const set = map.get(key)
  if (set === undefined || !set.delete(w)) return false
  if (set.size === 0) map.delete(key)
  return true
}
