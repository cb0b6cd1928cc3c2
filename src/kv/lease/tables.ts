/**
 * The lease tables of one KV group, created with the KV tables (same database, same
 * transactions): `leases` holds each granted lease with its TTL and its deadline on the
 * committed clock; `leaseSeq` the next id the group assigns.
 */
import type { SqliteDatabase } from "../../storage/driver.ts"

/**
 * The first id a group assigns. Like etcd's (a 16-bit prefix above a 48-bit counter, printed by
 * etcdctl as 16 hex digits), so every assigned id is above 2^53 and exercises the int64 path
 * end to end: 0x4c61 is "La".
 */
export const FIRST_ASSIGNED_LEASE_ID = (0x4c61n << 48n) + 1n

export const createLeaseTables = (
  db: SqliteDatabase,
  t: { readonly leases: string; readonly leaseSeq: string },
): void => {
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.leases} (
    id INTEGER PRIMARY KEY, ttl_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL)`)
  // Expiry scans leases in deadline order.
  db.exec(`CREATE INDEX IF NOT EXISTS ${t.leases}_deadline ON ${t.leases} (deadline_ms, id)`)
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.leaseSeq} (
    id INTEGER PRIMARY KEY CHECK (id = 0), next_id INTEGER NOT NULL)`)
  db.exec(`INSERT OR IGNORE INTO ${t.leaseSeq} VALUES (0, ${FIRST_ASSIGNED_LEASE_ID})`)
}
