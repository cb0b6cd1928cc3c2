/** etcd 3.4's Range, step for step: fetch, filter, sort, truncate, strip values. */
import { type KeyValue, KvError, type RangeRequest, type RangeResponse } from "../../schemas/kv.ts"
import { compareBytes } from "./bytes.ts"
import { keySpan, type MvccStore } from "./store.ts"

const hasFilters = (r: RangeRequest): boolean =>
  (r.minModRevision ?? 0) !== 0 ||
  (r.maxModRevision ?? 0) !== 0 ||
  (r.minCreateRevision ?? 0) !== 0 ||
  (r.maxCreateRevision ?? 0) !== 0

const byTarget = (target: RangeRequest["sortTarget"]): ((a: KeyValue, b: KeyValue) => number) => {
  switch (target ?? "KEY") {
    case "KEY":
      return (a, b) => compareBytes(a.key, b.key)
    case "VERSION":
      return (a, b) => a.version - b.version
    case "CREATE":
      return (a, b) => a.createRevision - b.createRevision
    case "MOD":
      return (a, b) => a.modRevision - b.modRevision
    case "VALUE":
      return (a, b) => compareBytes(a.value, b.value)
  }
}

/** Checks a read revision against the store: etcd's `rangeKeys` preamble. */
export const checkReadRevision = (
  revision: number,
  currentRev: number,
  compactRev: number,
): KvError | undefined => {
  if (revision > currentRev) return new KvError("FutureRev")
  const rev = revision <= 0 ? currentRev : revision
  if (rev < compactRev) return new KvError("Compacted")
  return undefined
}

export const executeRange = (
  store: MvccStore,
  tenant: number | undefined,
  r: RangeRequest,
  currentRev: number,
  compactRev: number,
): RangeResponse | KvError => {
  const requested = r.revision ?? 0
  const bad = checkReadRevision(requested, currentRev, compactRev)
  if (bad) return bad
  const rev = requested <= 0 ? currentRev : requested
  const header = { revision: currentRev }
  if (tenant === undefined) return { header, kvs: [], more: false, count: 0 }
  const span = keySpan(r.key, r.rangeEnd)
  if (r.countOnly) return { header, kvs: [], more: false, count: store.count(tenant, span, rev) }
  const limit = r.limit ?? 0
  // Sorting or filtering needs every key; otherwise one extra row tells `more`.
  let fetch = (r.sortOrder ?? "NONE") !== "NONE" || hasFilters(r) ? 0 : limit
  if (fetch > 0) fetch += 1
  let kvs = store.live(tenant, span, rev, fetch)
  // `count` ignores limit and filters; count separately only when the fetch was cut short.
  const count = fetch > 0 && kvs.length >= fetch ? store.count(tenant, span, rev) : kvs.length
  const maxMod = r.maxModRevision ?? 0
  const minMod = r.minModRevision ?? 0
  const maxCreate = r.maxCreateRevision ?? 0
  const minCreate = r.minCreateRevision ?? 0
  if (maxMod !== 0) kvs = kvs.filter((kv) => kv.modRevision <= maxMod)
  if (minMod !== 0) kvs = kvs.filter((kv) => kv.modRevision >= minMod)
  if (maxCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision <= maxCreate)
  if (minCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision >= minCreate)
  let order = r.sortOrder ?? "NONE"
  const target = r.sortTarget ?? "KEY"
  // etcd sorts ascending by default when the target is not the key.
  if (target !== "KEY" && order === "NONE") order = "ASCEND"
  if (order !== "NONE") {
    const cmp = byTarget(target)
    // Stable: ties keep key order, as Go's insertion sort does for small results.
    kvs = order === "ASCEND" ? kvs.sort(cmp) : kvs.sort((a, b) => cmp(b, a))
  }
  let more = false
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit)
    more = true
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }))
  return { header, kvs, more, count }
}
