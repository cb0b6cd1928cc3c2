/**
 * The rows that make up the logical MVCC state, whatever the progress of physical
 * compaction: every version above the compaction floor, plus each key's newest version at or
 * below the floor when it is not a tombstone. Hashes and snapshots read through this, so
 * replicas agree even when their compaction sweeps are at different points. Rows come in
 * revision order (the table's order, as etcd's HashKV walks it), and only SQL is used, so a
 * connection without the key index can read them.
 */
import type { SqliteDatabase, SqlRow } from "../storage/driver.ts"
import { bytesKey } from "./bytes.ts"
import type { KvTables } from "./tables.ts"

const rowId = (r: SqlRow): string => `${Number(r.tenant)}:${bytesKey(r.key as Uint8Array)}`

export function* logicalRows(
  db: SqliteDatabase,
  t: KvTables,
  floor: number,
  upto: number,
): Generator<SqlRow> {
  // Each key's newest revision at or below the floor (the only one of them that may count).
  const newestBelow = new Map<string, number>()
  for (const r of db
    .prepare(`SELECT tenant, key, rev FROM ${t.rows} WHERE rev <= ? ORDER BY rev`)
    .iterate(floor))
    newestBelow.set(rowId(r), Number(r.rev))
  const rows = db
    .prepare(
      `SELECT tenant, key, rev, create_rev, version, lease, value FROM ${t.rows} WHERE rev <= ? ORDER BY rev, tenant, key`,
    )
    .iterate(upto)
  for (const row of rows) {
    const rev = Number(row.rev)
    if (rev > floor) yield row
    else if (Number(row.version) > 0 && newestBelow.get(rowId(row)) === rev) yield row
  }
}
