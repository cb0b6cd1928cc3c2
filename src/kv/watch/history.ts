/**
 * Reads past events from the MVCC store for watchers that start in the past or fell behind:
 * every version row with a revision in [from, to] and a key in the watcher's span, in revision
 * order (key order within a revision), one bounded page at a time so a long catch-up never
 * holds the whole history in memory. A page never splits a revision.
 */
import type { KeyValue } from "../../../schemas/kv.ts"
import type { SqliteDatabase } from "../../storage/driver.ts"
import { type KeySpan, rowToKv } from "../store.ts"
import type { KvTables } from "../tables.ts"
import type { WatchEvent } from "./event.ts"

export interface HistoryPage {
  readonly events: readonly WatchEvent[]
  /** Every event of the span with a revision <= through (and >= from) is in `events`. */
  readonly through: number
}

const COLS = "key, rev, create_rev, version, lease, value"

/** What the state machine's key index answers about one key (the table is keyed by revision). */
export interface KeyVersions {
  /** The newest version of a key at or below `rev`, tombstones included. */
  versionAt(tenant: number, key: Uint8Array, rev: number): KeyValue | undefined
  /** The key's versions with a revision in [from, to], oldest first, at most `limit` (< 0: all). */
  versionsBetween(tenant: number, key: Uint8Array, from: number, to: number, limit: number): KeyValue[]
}

export class HistoryReader {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly t: KvTables,
    private readonly versions: KeyVersions,
  ) {}

  /** The tenant's id in rows, undefined while it has never written. */
  tenantId(name: string): number | undefined {
    const row = this.db.prepare(`SELECT id FROM ${this.t.tenants} WHERE name = ?`).get(name)
    return row === undefined ? undefined : Number(row.id)
  }

  tenantName(id: number): string | undefined {
    const row = this.db.prepare(`SELECT name FROM ${this.t.tenants} WHERE id = ?`).get(id)
    return row === undefined ? undefined : String(row.name)
  }

  /** The live version of `key` at `rev` (what prev_kv shows), if any. */
  liveAt(tenant: number, key: Uint8Array, rev: number): KeyValue | undefined {
    const kv = this.versions.versionAt(tenant, key, rev)
    return kv === undefined || kv.version === 0 ? undefined : kv
  }

  /**
   * Events in [from, to], at most about `maxRows` (more only when one revision alone is bigger).
   * `prevKv` fills each non-create event's previous version when `compactRev` allows (etcd
   * leaves it out when revision - 1 is compacted).
   */
  page(
    tenant: number,
    span: KeySpan,
    from: number,
    to: number,
    maxRows: number,
    prevKv: { readonly compactRev: number } | undefined,
  ): HistoryPage {
    if (from > to) return { events: [], through: to }
    const limit = Math.max(1, maxRows)
    let rows = this.rows(tenant, span, from, to, limit)
    let through = to
    if (rows.length >= limit) {
      const lastRev = rows[rows.length - 1]!.modRevision
      if (rows[0]!.modRevision === lastRev) {
        // One revision fills the page: deliver it whole (a revision is never split).
        rows = this.rows(tenant, span, lastRev, lastRev, -1)
        through = lastRev
      } else {
        rows = rows.filter((kv) => kv.modRevision < lastRev)
        through = lastRev - 1
      }
    }
    const events = rows.map((kv): WatchEvent => {
      const type = kv.version === 0 ? "delete" : "put"
      if (prevKv === undefined || (type === "put" && kv.version === 1)) return { type, kv }
      if (kv.modRevision - 1 < prevKv.compactRev) return { type, kv }
      const prev = this.liveAt(tenant, kv.key, kv.modRevision - 1)
      return prev === undefined ? { type, kv } : { type, kv, prevKv: prev }
    })
    return { events, through }
  }

  private rows(tenant: number, span: KeySpan, from: number, to: number, limit: number): KeyValue[] {
    const t = this.t.rows
    switch (span.kind) {
      case "one":
        // The key index knows the key's revisions: no scan of [from, to] for one key.
        return this.versions.versionsBetween(tenant, span.key, from, to, limit)
      case "between":
        return this.db
          .prepare(
            `SELECT ${COLS} FROM ${t} WHERE rev >= ? AND rev <= ? AND tenant = ? AND key >= ? AND key < ?
             ORDER BY rev, tenant, key LIMIT ?`,
          )
          .all(from, to, tenant, span.key, span.end, limit)
          .map(rowToKv)
      case "from":
        return this.db
          .prepare(
            `SELECT ${COLS} FROM ${t} WHERE rev >= ? AND rev <= ? AND tenant = ? AND key >= ?
             ORDER BY rev, tenant, key LIMIT ?`,
          )
          .all(from, to, tenant, span.key, limit)
          .map(rowToKv)
    }
  }
}
