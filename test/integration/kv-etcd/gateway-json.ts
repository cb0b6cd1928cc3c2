/**
 * Our request types → etcd's JSON gateway bodies, and etcd's JSON answers → the normalized
 * forms of test/unit/kv/normalize.ts (bytes base64, int64 as strings, zero values omitted).
 */
import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "../../../schemas/kv.ts"

type Json = Record<string, unknown>

const b64 = (b: Uint8Array | undefined): string | undefined =>
  b === undefined || b.length === 0 ? undefined : Buffer.from(b).toString("base64")
const i64 = (n: number | bigint | undefined): string | undefined =>
  n === undefined || n === 0 || n === 0n ? undefined : String(n)
const latin1FromB64 = (s: unknown): string =>
  typeof s === "string" ? String.fromCharCode(...Buffer.from(s, "base64")) : ""
const num = (s: unknown): number => (s === undefined ? 0 : Number(s))

export const putJson = (p: PutRequest): Json => ({
  key: b64(p.key),
  value: b64(p.value),
  lease: i64(p.lease),
  prev_kv: p.prevKv || undefined,
  ignore_value: p.ignoreValue || undefined,
  ignore_lease: p.ignoreLease || undefined,
})

export const rangeJson = (r: RangeRequest): Json => ({
  key: b64(r.key),
  range_end: b64(r.rangeEnd),
  limit: i64(r.limit),
  revision: i64(r.revision),
  sort_order: r.sortOrder,
  sort_target: r.sortTarget,
  keys_only: r.keysOnly || undefined,
  count_only: r.countOnly || undefined,
  min_mod_revision: i64(r.minModRevision),
  max_mod_revision: i64(r.maxModRevision),
  min_create_revision: i64(r.minCreateRevision),
  max_create_revision: i64(r.maxCreateRevision),
})

export const deleteJson = (d: DeleteRangeRequest): Json => ({
  key: b64(d.key),
  range_end: b64(d.rangeEnd),
  prev_kv: d.prevKv || undefined,
})

const compareJson = (c: Compare): Json => {
  const base: Json = { key: b64(c.key), range_end: b64(c.rangeEnd), target: c.target, result: c.result }
  switch (c.target) {
    case "VALUE":
      return { ...base, value: Buffer.from(c.value ?? new Uint8Array(0)).toString("base64") }
    case "VERSION":
      return { ...base, version: String(c.operand ?? 0n) }
    case "CREATE":
      return { ...base, create_revision: String(c.operand ?? 0n) }
    case "MOD":
      return { ...base, mod_revision: String(c.operand ?? 0n) }
    case "LEASE":
      return { ...base, lease: String(c.operand ?? 0n) }
  }
}

const opJson = (op: RequestOp): Json => {
  switch (op.type) {
    case "range":
      return { request_range: rangeJson(op.request) }
    case "put":
      return { request_put: putJson(op.request) }
    case "deleteRange":
      return { request_delete_range: deleteJson(op.request) }
    case "txn":
      return { request_txn: txnJson(op.request) }
  }
}

export const txnJson = (t: TxnRequest): Json => ({
  compare: t.compare.map(compareJson),
  success: t.success.map(opJson),
  failure: t.failure.map(opJson),
})

// ---- responses ----

const kvOf = (kv: Json) => ({
  key: latin1FromB64(kv.key),
  create: num(kv.create_revision),
  mod: num(kv.mod_revision),
  version: num(kv.version),
  value: latin1FromB64(kv.value),
  lease: BigInt((kv.lease as string | undefined) ?? 0),
})
const rev = (r: Json): number => num((r.header as Json | undefined)?.revision)

export const rangeOf = (r: Json) =>
  typeof r.error === "string" || typeof r.message === "string"
    ? { error: String(r.message ?? r.error) }
    : {
        rev: rev(r),
        kvs: ((r.kvs as Json[] | undefined) ?? []).map(kvOf),
        more: r.more === true,
        count: num(r.count),
      }

export const putOf = (r: Json) => ({ put: { rev: rev(r), prev: r.prev_kv ? kvOf(r.prev_kv as Json) : null } })
export const deleteOf = (r: Json) => ({
  del: { rev: rev(r), deleted: num(r.deleted), prev: ((r.prev_kvs as Json[] | undefined) ?? []).map(kvOf) },
})
const opOf = (r: Json): unknown => {
  if (r.response_range) return { range: rangeOf(r.response_range as Json) }
  if (r.response_put) return putOf(r.response_put as Json)
  if (r.response_delete_range) return deleteOf(r.response_delete_range as Json)
  return txnOf(r.response_txn as Json)
}
export const txnOf = (r: Json): unknown => ({
  txn: {
    rev: rev(r),
    succeeded: r.succeeded === true,
    responses: ((r.responses as Json[] | undefined) ?? []).map(opOf),
  },
})

export const errorOf = (r: Json): { error: string } | undefined =>
  typeof r.message === "string" || typeof r.error === "string"
    ? { error: String(r.message ?? r.error) }
    : undefined
