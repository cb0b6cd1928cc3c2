/** Plain, comparable forms of responses (bytes as strings) for toEqual and for etcd's JSON. */
import type { KeyValue, KvOutcome, RangeResponse, ResponseOp } from "../../../schemas/kv.ts"
import { KvError } from "../../../schemas/kv.ts"

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b)

export const normalizeKv = (kv: KeyValue) => ({
  key: latin1(kv.key),
  create: kv.createRevision,
  mod: kv.modRevision,
  version: kv.version,
  value: latin1(kv.value),
  lease: kv.lease,
})

export const normalizeRange = (r: RangeResponse | KvError) =>
  r instanceof KvError
    ? { error: r.message }
    : { rev: r.header.revision, kvs: r.kvs.map(normalizeKv), more: r.more, count: r.count }

const normalizeOp = (op: ResponseOp): unknown => {
  switch (op.type) {
    case "range":
      return { range: normalizeRange(op.response) }
    case "put":
      return {
        put: {
          rev: op.response.header.revision,
          prev: op.response.prevKv ? normalizeKv(op.response.prevKv) : null,
        },
      }
    case "deleteRange":
      return {
        del: {
          rev: op.response.header.revision,
          deleted: op.response.deleted,
          prev: op.response.prevKvs.map(normalizeKv),
        },
      }
    case "txn":
      return {
        txn: {
          rev: op.response.header.revision,
          succeeded: op.response.succeeded,
          responses: op.response.responses.map(normalizeOp),
        },
      }
  }
}

export const normalizeOutcome = (o: KvOutcome): unknown => {
  if (!o.ok) return { error: o.error.message }
  const r = o.response
  switch (r.type) {
    case "compact":
    case "tick":
      return { [r.type]: { rev: r.response.header.revision } }
    default:
      return normalizeOp(r as ResponseOp)
  }
}
