/**
 * Physical compaction, in bounded steps. After `compact(C)`, each key keeps only its newest
 * version at or below C, and loses even that when it is a tombstone (etcd drops a key deleted
 * before the compaction revision). Versions above C are never touched. A cursor in the state
 * row records how far the sweep got, so it survives restarts and never blocks the apply loop
 * for more than one step.
 */
import type { SqliteDatabase } from "../storage/driver.ts"
import type { KvMeta } from "./meta.ts"
import type { KvTables } from "./tables.ts"

export const runCompactionStep = (
  db: SqliteDatabase,
  t: KvTables,
  meta: KvMeta,
  maxKeys: number,
): boolean => {
  const floor = meta.compactRev
  const keys =
    meta.cursorTenant === null
      ? db.prepare(`SELECT DISTINCT tenant, key FROM ${t.rows} ORDER BY tenant, key LIMIT ?`).all(maxKeys)
      : db
          .prepare(
            `SELECT DISTINCT tenant, key FROM ${t.rows} WHERE (tenant, key) > (?, ?) ORDER BY tenant, key LIMIT ?`,
          )
          .all(meta.cursorTenant, meta.cursorKey, maxKeys)
  const newest = db.prepare(
    `SELECT rev, version FROM ${t.rows} WHERE tenant = ? AND key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`,
  )
  const dropBelow = db.prepare(`DELETE FROM ${t.rows} WHERE tenant = ? AND key = ? AND rev < ?`)
  for (const k of keys) {
    const top = newest.get(k.tenant!, k.key!, floor)
    if (top === undefined) continue
    // A tombstone at the floor goes too: the key does not exist there.
    const limit = Number(top.version) === 0 ? Number(top.rev) + 1 : Number(top.rev)
    dropBelow.run(k.tenant!, k.key!, limit)
  }
  if (keys.length < maxKeys) {
    meta.compactedThrough = floor
    meta.cursorTenant = null
    meta.cursorKey = null
    return true
  }
  const last = keys[keys.length - 1]!
  meta.cursorTenant = Number(last.tenant)
  meta.cursorKey = last.key as Uint8Array
  return false
}
