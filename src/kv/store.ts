/**
 * The MVCC row store of one group: reads "the live version of each key at revision R" and
 * appends versions. Rows are keyed by revision, so writes append; the in-memory `KeyIndex` maps
 * keys to their revisions, and `NewestVersions` keeps the newest version of a bounded number of
 * recently used keys so most reads of one key skip SQLite.
 */
import type { Bytes, KeyValue } from "../../schemas/kv.ts"
import type { SqliteDatabase, SqliteStatement, SqlRow } from "../storage/driver.ts"
import { compareBytes, isFromKey, keyBytes } from "./bytes.ts"
import { firstAtOrAfter, type KeyEntry, KeyIndex, newestAt } from "./key-index.ts"
import type { KvTables } from "./tables.ts"

/** Which keys a request names: one key, [key, end), or every key >= key. */
export type KeySpan =
  | { readonly kind: "one"; readonly key: Bytes }
  | { readonly kind: "between"; readonly key: Bytes; readonly end: Bytes }
  | { readonly kind: "from"; readonly key: Bytes }

export const keySpan = (key: Bytes, rangeEnd: Bytes | undefined): KeySpan => {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { kind: "one", key }
  if (isFromKey(rangeEnd)) return { kind: "from", key }
  return { kind: "between", key, end: rangeEnd }
}

export const spanContains = (span: KeySpan, key: Bytes): boolean => {
  switch (span.kind) {
    case "one":
      return compareBytes(key, span.key) === 0
    case "from":
      return compareBytes(key, span.key) >= 0
    case "between":
      return compareBytes(key, span.key) >= 0 && compareBytes(key, span.end) < 0
  }
}

export const rowToKv = (r: SqlRow): KeyValue => ({
  key: r.key as Uint8Array,
  createRevision: Number(r.create_rev),
  modRevision: Number(r.rev),
  version: Number(r.version),
  value: r.value as Uint8Array,
  lease: BigInt(r.lease as bigint | number),
})

const COLS = "key, rev, create_rev, version, lease, value"

/** A map key for (tenant, key), from the key's index entry (whose id is `bytesKey(key)`). */
const versionId = (tenant: number, e: KeyEntry): string => `${tenant}:${e.id}`

/**
 * The newest version of recently used keys (`[performance] cache_size`), so a put's read of the
 * key's previous version and a read of one key at the current revision skip SQLite. Sound because
 * every write of a version goes through `MvccStore.write`, which updates it; compaction drops the
 * tombstones it removes, and whatever changes rows otherwise (a rolled-back transaction, a
 * snapshot restore) calls `MvccStore.reset`. The
 * oldest written or loaded entry goes first.
 */
class NewestVersions {
  private readonly map = new Map<string, KeyValue>()

  constructor(readonly capacity: number) {}

  get(id: string): KeyValue | undefined {
    return this.map.get(id)
  }

  /** `copy`: the bytes may be views of a whole decoded frame, which must not stay alive with them. */
  set(id: string, kv: KeyValue, copy: boolean): void {
    this.map.delete(id)
    this.map.set(id, copy ? { ...kv, key: kv.key.slice(), value: kv.value.slice() } : kv)
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!)
  }

  delete(id: string): void {
    this.map.delete(id)
  }

  clear(): void {
    this.map.clear()
  }
}
const TOMBSTONE_VALUE = new Uint8Array(0)

export class MvccStore {
  private readonly rowStmt: SqliteStatement
  private readonly writeStmt: SqliteStatement
  private readonly indexRowsStmt: SqliteStatement
  private readonly dropStmt: SqliteStatement
  private readonly index = new KeyIndex()
  /** Null when `cacheSize` is 0. */
  private readonly newest: NewestVersions | null

  constructor(db: SqliteDatabase, t: KvTables, cacheSize = 0) {
    this.rowStmt = db.prepare(`SELECT ${COLS} FROM ${t.rows} WHERE rev = ? AND tenant = ? AND key = ?`)
    this.writeStmt = db.prepare(
      `INSERT OR REPLACE INTO ${t.rows} (tenant, ${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    this.indexRowsStmt = db.prepare(`SELECT tenant, key, rev, version FROM ${t.rows} ORDER BY rev`)
    this.dropStmt = db.prepare(`DELETE FROM ${t.rows} WHERE rev = ? AND tenant = ? AND key = ?`)
    this.newest = cacheSize > 0 ? new NewestVersions(cacheSize) : null
    this.reset()
  }

  /**
   * Re-reads the key index from the table and drops the cached versions: rows changed other than
   * through this store (a snapshot restore), or a transaction that wrote through it rolled back.
   */
  reset(): void {
    this.newest?.clear()
    const rows = this.indexRowsStmt.iterate()
    this.index.rebuild(
      (function* () {
        for (const r of rows)
          yield {
            tenant: Number(r.tenant),
            key: r.key as Uint8Array,
            rev: Number(r.rev),
            live: Number(r.version) > 0,
          }
      })(),
    )
  }

  /**
   * The version of `e` at signed revision `signed` (a tombstone needs no read). `key` is the
   * entry's key when the caller has it at hand (else it is rebuilt from the entry's id).
   */
  private version(tenant: number, e: KeyEntry, signed: number, key?: Bytes): KeyValue {
    if (signed < 0)
      return {
        key: key ?? keyBytes(e.id),
        createRevision: 0,
        modRevision: -signed,
        version: 0,
        value: TOMBSTONE_VALUE,
        lease: 0n,
      }
    const newest = signed === e.revs[e.revs.length - 1]
    if (newest && this.newest !== null) {
      const cached = this.newest.get(versionId(tenant, e))
      if (cached !== undefined && cached.modRevision === signed) return cached
    }
    const row = this.rowStmt.get(signed, tenant, key ?? keyBytes(e.id))
    if (row === undefined) throw new Error(`key index names revision ${signed}, which has no row`)
    const kv = rowToKv(row)
    if (newest) this.newest?.set(versionId(tenant, e), kv, false)
    return kv
  }

  /** The newest version of `key` at or below `rev`, tombstones included. */
  latest(tenant: number, key: Bytes, rev: number): KeyValue | undefined {
    const e = this.index.get(tenant, key)
    if (e === undefined) return undefined
    const signed = newestAt(e, rev)
    return signed === 0 ? undefined : this.version(tenant, e, signed, key)
  }

  /** A key's versions, tombstones included, with a revision in [from, to], oldest first; `limit` < 0: all. */
  between(tenant: number, key: Bytes, from: number, to: number, limit: number): KeyValue[] {
    const e = this.index.get(tenant, key)
    if (e === undefined) return []
    const out: KeyValue[] = []
    for (let i = firstAtOrAfter(e, from); i < e.revs.length; i++) {
      const signed = e.revs[i]!
      if (Math.abs(signed) > to || (limit >= 0 && out.length >= limit)) break
      out.push(this.version(tenant, e, signed, key))
    }
    return out
  }

  /** The live key-values of a span at `rev`, in key order; `limit` <= 0 means all. */
  live(tenant: number, span: KeySpan, rev: number, limit: number): KeyValue[] {
    const out: KeyValue[] = []
    for (const e of this.index.span(tenant, span)) {
      const signed = newestAt(e, rev)
      if (signed <= 0) continue
      out.push(this.version(tenant, e, signed))
      if (limit > 0 && out.length >= limit) break
    }
    return out
  }

  count(tenant: number, span: KeySpan, rev: number): number {
    let n = 0
    for (const e of this.index.span(tenant, span)) if (newestAt(e, rev) > 0) n++
    return n
  }

  /** Writes one version; a second write of the same key in the same txn replaces the first. */
  write(tenant: number, kv: KeyValue): void {
    this.writeStmt.run(tenant, kv.key, kv.modRevision, kv.createRevision, kv.version, kv.lease, kv.value)
    const e = this.index.add(tenant, kv.key, kv.modRevision, kv.version > 0)
    this.newest?.set(versionId(tenant, e), kv, true)
  }

  /**
   * One step of physical compaction to `floor`: for up to `maxKeys` keys after `cursor`, drops
   * every version older than the key's newest at or below the floor, and that one too when it is
   * a tombstone (the key does not exist there). Returns the last key visited, or null when the
   * sweep reached the end. The caller's transaction must call `reset` if it rolls back.
   */
  compactKeys(
    floor: number,
    cursor: { readonly tenant: number; readonly key: Bytes } | null,
    maxKeys: number,
  ): { readonly tenant: number; readonly key: Bytes } | null {
    let visited = 0
    for (const [tenant, e] of this.index.after(cursor)) {
      const top = newestAt(e, floor)
      if (top !== 0) {
        const limit = top < 0 ? -top + 1 : top
        const key = keyBytes(e.id)
        for (const signed of this.index.dropBelow(tenant, e, limit))
          this.dropStmt.run(Math.abs(signed), tenant, key)
        // A dropped tombstone may be the cached newest version.
        if (top < 0) this.newest?.delete(versionId(tenant, e))
      }
      if (++visited >= maxKeys) return { tenant, key: keyBytes(e.id) }
    }
    return null
  }
}
