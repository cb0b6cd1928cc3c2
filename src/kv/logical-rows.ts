/**
 * The rows that make up the logical MVCC state, whatever the progress of physical
 * compaction: every version above the compaction floor, plus each key's newest version at or
 * below the floor when it is not a tombstone. Hashes and snapshots read through this, so
 * replicas agree even when their compaction sweeps are at different points.
 */
import type { SqliteDatabase, SqlRow } from "../storage/driver.ts"
import type { KvTables } from "./tables.ts"

export function* logicalRows(
  db: SqliteDatabase,
  t: KvTables,
  floor: number,
  upto: number,
): Generator<SqlRow> {
  const rows = db
    .prepare(
      `SELECT tenant, key, rev, create_rev, version, lease, value FROM ${t.rows} WHERE rev <= ? ORDER BY tenant, key, rev`,
    )
    .iterate(upto)
  let pending: SqlRow | undefined
  const flush = function* (): Generator<SqlRow> {
    if (pending !== undefined && Number(pending.version) > 0) yield pending
    pending = undefined
  }
  for (const row of rows) {
    if (pending !== undefined && (pending.tenant !== row.tenant || !sameKey(pending, row))) yield* flush()
    if (Number(row.rev) <= floor) pending = row
    else {
      yield* flush()
      yield row
    }
  }
  yield* flush()
}

const sameKey = (a: SqlRow, b: SqlRow): boolean => {
  const x = a.key as Uint8Array
  const y = b.key as Uint8Array
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}
