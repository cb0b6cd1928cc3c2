/**
 * The MVCC row store of one group: reads "the live version of each key at revision R" and
 * appends versions. SQLite is the index; per key, JS memory holds at most the newest version of a
 * bounded number of recently used keys (`NewestVersions`).
 */
import type { Bytes, KeyValue } from "../../schemas/kv.ts"
import type { SqliteDatabase, SqliteStatement, SqlRow } from "../storage/driver.ts"
import { bytesKey, isFromKey } from "./bytes.ts"
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

export const rowToKv = (r: SqlRow): KeyValue => ({
  key: r.key as Uint8Array,
  createRevision: Number(r.create_rev),
  modRevision: Number(r.rev),
  version: Number(r.version),
  value: r.value as Uint8Array,
  lease: BigInt(r.lease as bigint | number),
})

const COLS = "key, rev, create_rev, version, lease, value"

/** A map key for (tenant, key). */
const versionId = (tenant: number, key: Uint8Array): string => `${tenant}:${bytesKey(key)}`

/**
 * The newest version of recently used keys (`[performance] cache_size`), so a put's read of the
 * key's previous version and a read of one key at the current revision skip SQLite. Sound because
 * every write of a version goes through `MvccStore.write`, which updates it; whatever changes rows
 * otherwise (a rolled-back transaction, a compaction, a snapshot restore) calls `forget`. The
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

  clear(): void {
    this.map.clear()
  }
}
const GROUPED = "key, max(rev) AS rev, create_rev, version, lease, value"

export class MvccStore {
  private readonly latestStmt: SqliteStatement
  private readonly betweenStmt: SqliteStatement
  private readonly fromStmt: SqliteStatement
  private readonly countBetweenStmt: SqliteStatement
  private readonly countFromStmt: SqliteStatement
  private readonly writeStmt: SqliteStatement
  private readonly newestStmt: SqliteStatement
  /** Null when `cacheSize` is 0. */
  private readonly newest: NewestVersions | null

  constructor(db: SqliteDatabase, t: KvTables, cacheSize = 0) {
    this.latestStmt = db.prepare(
      `SELECT ${COLS} FROM ${t.rows} WHERE tenant = ? AND key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`,
    )
    this.newestStmt = db.prepare(
      `SELECT ${COLS} FROM ${t.rows} WHERE tenant = ? AND key = ? ORDER BY rev DESC LIMIT 1`,
    )
    this.newest = cacheSize > 0 ? new NewestVersions(cacheSize) : null
    // SQLite takes the bare columns of a max() aggregate from the row holding the max.
    this.betweenStmt = db.prepare(
      `SELECT ${GROUPED} FROM ${t.rows} WHERE tenant = ? AND key >= ? AND key < ? AND rev <= ?
       GROUP BY key HAVING version > 0 ORDER BY key LIMIT ?`,
    )
    this.fromStmt = db.prepare(
      `SELECT ${GROUPED} FROM ${t.rows} WHERE tenant = ? AND key >= ? AND rev <= ?
       GROUP BY key HAVING version > 0 ORDER BY key LIMIT ?`,
    )
    this.countBetweenStmt = db.prepare(
      `SELECT count(*) AS n FROM (SELECT max(rev), version FROM ${t.rows}
       WHERE tenant = ? AND key >= ? AND key < ? AND rev <= ? GROUP BY key HAVING version > 0)`,
    )
    this.countFromStmt = db.prepare(
      `SELECT count(*) AS n FROM (SELECT max(rev), version FROM ${t.rows}
       WHERE tenant = ? AND key >= ? AND rev <= ? GROUP BY key HAVING version > 0)`,
    )
    this.writeStmt = db.prepare(
      `INSERT OR REPLACE INTO ${t.rows} (tenant, ${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
  }

  /** The newest version of `key` at or below `rev`, tombstones included. */
  latest(tenant: number, key: Bytes, rev: number): KeyValue | undefined {
    if (this.newest !== null) {
      const id = versionId(tenant, key)
      let newest = this.newest.get(id)
      if (newest === undefined) {
        const row = this.newestStmt.get(tenant, key)
        if (row === undefined) return undefined
        newest = rowToKv(row)
        this.newest.set(id, newest, false)
      }
      // The newest version overall is the newest at `rev` when it is not after it.
      if (newest.modRevision <= rev) return newest
    }
    const row = this.latestStmt.get(tenant, key, rev)
    return row === undefined ? undefined : rowToKv(row)
  }

  /** Drops the cached newest versions: rows changed other than through `write`, or were rolled back. */
  forget(): void {
    this.newest?.clear()
  }

  /** The live key-values of a span at `rev`, in key order; `limit` <= 0 means all. */
  live(tenant: number, span: KeySpan, rev: number, limit: number): KeyValue[] {
    const lim = limit > 0 ? limit : -1
    switch (span.kind) {
      case "one": {
        const kv = this.latest(tenant, span.key, rev)
        return kv !== undefined && kv.version > 0 ? [kv] : []
      }
      case "between":
        return this.betweenStmt.all(tenant, span.key, span.end, rev, lim).map(rowToKv)
      case "from":
        return this.fromStmt.all(tenant, span.key, rev, lim).map(rowToKv)
    }
  }

  count(tenant: number, span: KeySpan, rev: number): number {
    switch (span.kind) {
      case "one": {
        const kv = this.latest(tenant, span.key, rev)
        return kv !== undefined && kv.version > 0 ? 1 : 0
      }
      case "between":
        return Number(this.countBetweenStmt.get(tenant, span.key, span.end, rev)!.n)
      case "from":
        return Number(this.countFromStmt.get(tenant, span.key, rev)!.n)
    }
  }

  /** Writes one version; a second write of the same key in the same txn replaces the first. */
  write(tenant: number, kv: KeyValue): void {
    this.writeStmt.run(tenant, kv.key, kv.modRevision, kv.createRevision, kv.version, kv.lease, kv.value)
    this.newest?.set(versionId(tenant, kv.key), kv, true)
  }
}
