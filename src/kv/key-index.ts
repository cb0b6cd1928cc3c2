/**
 * The in-memory key index of one group (etcd's treeIndex): for every key of every tenant, the
 * revisions of its versions, in key order. Rows on disk are keyed by revision, so a write
 * appends to the end of the table instead of dirtying a page in the middle of it; finding a key's
 * version at a revision, or the keys of a span, is this index's job. It is rebuilt from the table
 * when the store opens and after anything that changes rows behind its back.
 */
import type { Bytes } from "../../schemas/kv.ts"
import { bytesKey } from "./bytes.ts"
import type { KeySpan } from "./store.ts"

/**
 * One key: its revisions, oldest first, each negated when that version is a tombstone. The key's
 * bytes are not kept (`keyBytes(id)` gives them back): a Uint8Array per key was about 30 % of the
 * index's memory.
 */
export interface KeyEntry {
  /** `bytesKey(key)`: latin1, so string order is the keys' byte order. */
  readonly id: string
  readonly revs: number[]
}

/** Chunks of sorted entries: inserts and removals splice one chunk, never the whole key set. */
const CHUNK = 512

class SortedKeys {
  private chunks: KeyEntry[][] = []

  /** The index of the first chunk whose last id is >= id (chunks.length when none is). */
  private chunkFor(id: string): number {
    let lo = 0
    let hi = this.chunks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = this.chunks[mid]!
      if (c[c.length - 1]!.id < id) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private static lowerBound(c: readonly KeyEntry[], id: string): number {
    let lo = 0
    let hi = c.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (c[mid]!.id < id) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(e: KeyEntry): void {
    if (this.chunks.length === 0) {
      this.chunks.push([e])
      return
    }
    let ci = this.chunkFor(e.id)
    if (ci === this.chunks.length) ci--
    const c = this.chunks[ci]!
    c.splice(SortedKeys.lowerBound(c, e.id), 0, e)
    if (c.length > 2 * CHUNK) this.chunks.splice(ci, 1, c.slice(0, CHUNK), c.slice(CHUNK))
  }

  remove(id: string): void {
    const ci = this.chunkFor(id)
    const c = this.chunks[ci]
    if (c === undefined) return
    const i = SortedKeys.lowerBound(c, id)
    if (c[i]?.id !== id) return
    c.splice(i, 1)
    if (c.length === 0) this.chunks.splice(ci, 1)
  }

  /** Replaces the contents with entries already in key order. */
  load(sorted: readonly KeyEntry[]): void {
    this.chunks = []
    for (let i = 0; i < sorted.length; i += CHUNK) this.chunks.push(sorted.slice(i, i + CHUNK))
  }

  /** Entries with from <= id (from > id when `after`), up to (excluding) `end` when given. */
  *scan(from: string, after: boolean, end: string | undefined): Generator<KeyEntry> {
    let ci = this.chunkFor(from)
    if (ci === this.chunks.length) return
    let i = SortedKeys.lowerBound(this.chunks[ci]!, from)
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci]!
      for (; i < c.length; i++) {
        const e = c[i]!
        if (after && e.id === from) continue
        if (end !== undefined && e.id >= end) return
        yield e
      }
    }
  }
}

class TenantKeys {
  readonly byId = new Map<string, KeyEntry>()
  readonly sorted = new SortedKeys()
}

/** The position of `e`'s first version with a revision >= `rev` (`e.revs.length` when none is). */
export const firstAtOrAfter = (e: KeyEntry, rev: number): number => {
  const revs = e.revs
  let lo = 0
  let hi = revs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (Math.abs(revs[mid]!) < rev) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The signed revision of `e`'s newest version at or below `rev` (negative: a tombstone), or 0. */
export const newestAt = (e: KeyEntry, rev: number): number => {
  const after = firstAtOrAfter(e, rev + 1)
  return after === 0 ? 0 : e.revs[after - 1]!
}

export class KeyIndex {
  private tenants = new Map<number, TenantKeys>()

  get(tenant: number, key: Bytes): KeyEntry | undefined {
    return this.tenants.get(tenant)?.byId.get(bytesKey(key))
  }

  /** Records a version; a second version of the key at the same revision replaces the first. */
  add(tenant: number, key: Bytes, rev: number, live: boolean): KeyEntry {
    let t = this.tenants.get(tenant)
    if (t === undefined) this.tenants.set(tenant, (t = new TenantKeys()))
    const id = bytesKey(key)
    let e = t.byId.get(id)
    if (e === undefined) {
      e = { id, revs: [] }
      t.byId.set(id, e)
      t.sorted.insert(e)
    }
    const signed = live ? rev : -rev
    const last = e.revs.length - 1
    if (last >= 0 && Math.abs(e.revs[last]!) === rev) e.revs[last] = signed
    else e.revs.push(signed)
    return e
  }

  /** Drops the versions of `e` older than `limit`; a key left without versions leaves the index. */
  dropBelow(tenant: number, e: KeyEntry, limit: number): number[] {
    let n = 0
    while (n < e.revs.length && Math.abs(e.revs[n]!) < limit) n++
    const dropped = e.revs.splice(0, n)
    if (e.revs.length === 0) {
      const t = this.tenants.get(tenant)
      t?.byId.delete(e.id)
      t?.sorted.remove(e.id)
    }
    return dropped
  }

  /** The keys of a span in key order. */
  *span(tenant: number, span: KeySpan): Generator<KeyEntry> {
    const t = this.tenants.get(tenant)
    if (t === undefined) return
    if (span.kind === "one") {
      const e = t.byId.get(bytesKey(span.key))
      if (e !== undefined) yield e
      return
    }
    yield* t.sorted.scan(bytesKey(span.key), false, span.kind === "between" ? bytesKey(span.end) : undefined)
  }

  /** Every key after (tenant, key) in (tenant, key) order; from the start when `after` is null. */
  *after(after: { readonly tenant: number; readonly key: Bytes } | null): Generator<[number, KeyEntry]> {
    for (const tenant of [...this.tenants.keys()].sort((a, b) => a - b)) {
      if (after !== null && tenant < after.tenant) continue
      const t = this.tenants.get(tenant)!
      const from = after !== null && tenant === after.tenant ? bytesKey(after.key) : ""
      for (const e of t.sorted.scan(from, from !== "", undefined)) yield [tenant, e]
    }
  }

  /** Rebuilds from (tenant, key, rev, live) rows given in revision order. */
  rebuild(rows: Iterable<{ tenant: number; key: Bytes; rev: number; live: boolean }>): void {
    this.tenants = new Map()
    for (const r of rows) {
      let t = this.tenants.get(r.tenant)
      if (t === undefined) this.tenants.set(r.tenant, (t = new TenantKeys()))
      const id = bytesKey(r.key)
      let e = t.byId.get(id)
      if (e === undefined) t.byId.set(id, (e = { id, revs: [] }))
      e.revs.push(r.live ? r.rev : -r.rev)
    }
    for (const t of this.tenants.values())
      t.sorted.load([...t.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
  }
}
