/**
 * The SQLite layout of one KV group. Every table name carries the group id, so many Raft
 * groups share one database file without sharing rows.
 *
 * - `rows`: one row per (tenant, key, revision): the MVCC history. A tombstone has
 *   version 0 and an empty value. WITHOUT ROWID, so a key's history is contiguous, newest
 *   last; an index on (tenant, rev) lets watchers replay history in revision order.
 * - `state`: a single row: applied Raft index, current and compacted revisions, the
 *   physical-compaction cursor, the last committed tick, the idempotency sequence.
 * - `tenants`: tenant name → small integer stored in `rows`.
 * - `idem`: idempotency records (client, request) → encoded outcome.
 * - `leases`: granted leases (id, TTL, deadline in committed-clock ms); `leaseSeq`: the next id
 *   to assign (ids are never reused). See `lease/store.ts`.
 */
import type { SqliteDatabase } from "../storage/driver.ts"
import { createLeaseTables } from "./lease/tables.ts"

export interface KvTables {
  readonly rows: string
  readonly state: string
  readonly tenants: string
  readonly idem: string
  readonly leases: string
  readonly leaseSeq: string
}

export const kvTables = (group: number): KvTables => {
  if (!Number.isSafeInteger(group) || group < 0) throw new RangeError(`bad group id ${group}`)
  return {
    rows: `kv_${group}_rows`,
    state: `kv_${group}_state`,
    tenants: `kv_${group}_tenants`,
    idem: `kv_${group}_idem`,
    leases: `kv_${group}_leases`,
    leaseSeq: `kv_${group}_lease_seq`,
  }
}

export const createKvTables = (db: SqliteDatabase, t: KvTables): void => {
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.rows} (
    tenant INTEGER NOT NULL, key BLOB NOT NULL, rev INTEGER NOT NULL,
    create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (tenant, key, rev)) WITHOUT ROWID`)
  // Only leased versions are indexed, so keys without a lease pay nothing for it.
  db.exec(`CREATE INDEX IF NOT EXISTS ${t.rows}_lease ON ${t.rows} (lease) WHERE lease != 0`)
  // Watchers replay history by revision (catch-up after a start in the past or a lag).
  db.exec(`CREATE INDEX IF NOT EXISTS ${t.rows}_rev ON ${t.rows} (tenant, rev)`)
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.state} (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    applied_index INTEGER NOT NULL, revision INTEGER NOT NULL, compact_rev INTEGER NOT NULL,
    compacted_through INTEGER NOT NULL, cursor_tenant INTEGER, cursor_key BLOB,
    tick INTEGER NOT NULL, tick_ms INTEGER NOT NULL, idem_seq INTEGER NOT NULL)`)
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.tenants} (name TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE)`)
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.idem} (
    client TEXT NOT NULL, request INTEGER NOT NULL, seq INTEGER NOT NULL UNIQUE, tick INTEGER NOT NULL,
    outcome BLOB NOT NULL, PRIMARY KEY (client, request)) WITHOUT ROWID`)
  createLeaseTables(db, t)
  // etcd starts at revision 1 with no compaction (compactMainRev = -1).
  db.exec(`INSERT OR IGNORE INTO ${t.state} VALUES (0, 0, 1, -1, -1, NULL, NULL, 0, 0, 0)`)
}

export const dropKvTables = (db: SqliteDatabase, t: KvTables): void => {
  for (const name of [t.rows, t.state, t.tenants, t.idem, t.leases, t.leaseSeq])
    db.exec(`DROP TABLE IF EXISTS ${name}`)
}
