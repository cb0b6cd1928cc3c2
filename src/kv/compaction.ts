/**
 * Physical compaction, in bounded steps. After `compact(C)`, each key keeps only its newest
 * version at or below C, and loses even that when it is a tombstone (etcd drops a key deleted
 * before the compaction revision). Versions above C are never touched. A cursor in the state
 * row records how far the sweep got, so it survives restarts and never blocks the apply loop
 * for more than one step.
 */
import type { KvMeta } from "./meta.ts"
import type { MvccStore } from "./store.ts"

export const runCompactionStep = (store: MvccStore, meta: KvMeta, maxKeys: number): boolean => {
  const cursor =
    meta.cursorTenant === null || meta.cursorKey === null
      ? null
      : { tenant: meta.cursorTenant, key: meta.cursorKey }
  const last = store.compactKeys(meta.compactRev, cursor, maxKeys)
  if (last === null) {
    meta.compactedThrough = meta.compactRev
    meta.cursorTenant = null
    meta.cursorKey = null
    return true
  }
  meta.cursorTenant = last.tenant
  meta.cursorKey = last.key
  return false
}
