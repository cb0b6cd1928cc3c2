/**
 * The MVCC row store of one group: reads "the live version of each key at revision R" and
 * appends versions. SQLite is the index; nothing per key is kept in JS memory.
 */
import type { Bytes, KeyValue } from "../../schemas/kv.ts"
import type { SqliteDatabase, SqliteStatement, SqlRow } from "../storage/driver.ts"
import { isFromKey } from "./bytes.ts"
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
const GROUPED = "key, max(rev) AS rev, create_rev, version, lease, value"

export class MvccStore {
  private readonly latestStmt: SqliteStatement
  private readonly betweenStmt: SqliteStatement
  private readonly fromStmt: SqliteStatement
  private readonly countBetweenStmt: SqliteStatement
  private readonly countFromStmt: SqliteStatement
  private readonly writeStmt: SqliteStatement

  constructor(db: SqliteDatabase, t: KvTables) {
    this.latestStmt = db.prepare(
      `SELECT ${COLS} FROM ${t.rows} WHERE tenant = ? AND key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`,
    )
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
    const row = this.latestStmt.get(tenant, key, rev)
    return row === undefined ? undefined : rowToKv(row)
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
  }
}
