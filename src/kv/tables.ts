/**
 * The SQLite layout of one KV group. Every table name carries the group id, so many Raft
 * groups share one database file without sharing rows.
 *
 * - `rows`: one row per version: the MVCC history. A tombstone has version 0 and an empty
 *   value. WITHOUT ROWID and keyed by (revision, tenant, key), so a write appends at the end of
 *   the table and watchers replay history in table order; the key → revisions index lives in
 *   memory (`key-index.ts`), as etcd's does. (Before, rows were keyed by (tenant, key,
 *   revision) in `kv_<group>_rows`: every put dirtied a page in the middle of the table, 4 KiB
 *   written to the WAL and again at the checkpoint. `createKvTables` moves such a table over.)
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
    rows: `kv_${group}_mvcc`,
    state: `kv_${group}_state`,
    tenants: `kv_${group}_tenants`,
    idem: `kv_${group}_idem`,
    leases: `kv_${group}_leases`,
    leaseSeq: `kv_${group}_lease_seq`,
  }
}

export const createKvTables = (db: SqliteDatabase, t: KvTables): void => {
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.rows} (
    rev INTEGER NOT NULL, tenant INTEGER NOT NULL, key BLOB NOT NULL,
    create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (rev, tenant, key)) WITHOUT ROWID`)
  // Only leased versions are indexed, so keys without a lease pay nothing for it.
  db.exec(`CREATE INDEX IF NOT EXISTS ${t.rows}_lease ON ${t.rows} (lease) WHERE lease != 0`)
  moveLegacyRows(db, t)
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

/** Where rows lived while they were keyed by (tenant, key, revision) (file format 2 and before). */
const legacyRowsTable = (t: KvTables): string => t.rows.replace(/_mvcc$/, "_rows")

/** Moves one group's rows from the (tenant, key, revision) table, if there is one, to `t.rows`. */
const moveLegacyRows = (db: SqliteDatabase, t: KvTables): void => {
  const legacy = legacyRowsTable(t)
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(legacy) === undefined)
    return
  db.exec(`INSERT OR REPLACE INTO ${t.rows} (rev, tenant, key, create_rev, version, lease, value)
    SELECT rev, tenant, key, create_rev, version, lease, value FROM ${legacy}`)
  db.exec(`DROP TABLE ${legacy}`)
}

/**
 * The format 2 → 3 step of a `kv-<group>.db` (run by `ensureFormat` in the step's transaction):
 * every group's rows move to the revision-keyed table. Stamping format 3 is what makes an older
 * binary refuse the file instead of opening it without its rows.
 */
export const moveRowsToRevisionKeys = (db: SqliteDatabase): void => {
  for (const r of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()) {
    const m = /^kv_(\d+)_rows$/.exec(String(r.name))
    if (m !== null) createKvTables(db, kvTables(Number(m[1])))
  }
}

export const dropKvTables = (db: SqliteDatabase, t: KvTables): void => {
  for (const name of [t.rows, legacyRowsTable(t), t.state, t.tenants, t.idem, t.leases, t.leaseSeq])
    db.exec(`DROP TABLE IF EXISTS ${name}`)
}
