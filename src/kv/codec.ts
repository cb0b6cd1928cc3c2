/**
 * Compact binary encoding of KV commands (Raft entry data) and outcomes (idempotency
 * records). Commands are on the hot path, so no JSON. Decoding yields the normalized form:
 * every optional field present with etcd's zero value.
 */
import {
  type Compare,
  type CompareResult,
  type CompareTarget,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type IdempotencyKey,
  type KeyValue,
  KV_ERRORS,
  type KvCommand,
  KvError,
  type KvErrorKind,
  type KvOutcome,
  type KvResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type SortOrder,
  type SortTarget,
  type TxnRequest,
  type TxnResponse,
} from "../../schemas/kv.ts"
import { BinaryReader, BinaryWriter, CodecError } from "./binary.ts"
import { EMPTY } from "./bytes.ts"

const FORMAT = 1
const COMMANDS = [
  "put",
  "deleteRange",
  "txn",
  "compact",
  "tick",
  "leaseGrant",
  "leaseRevoke",
  "leaseRenew",
] as const
const OPS = ["range", "put", "deleteRange", "txn"] as const
const SORT_ORDERS: readonly SortOrder[] = ["NONE", "ASCEND", "DESCEND"]
const SORT_TARGETS: readonly SortTarget[] = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"]
const TARGETS: readonly CompareTarget[] = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]
const RESULTS: readonly CompareResult[] = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]
const ERROR_KINDS = Object.keys(KV_ERRORS) as KvErrorKind[]

const indexOf = <T>(list: readonly T[], v: T): number => {
  const i = list.indexOf(v)
  if (i < 0) throw new CodecError(`unknown enum value ${String(v)}`)
  return i
}
const pick = <T>(list: readonly T[], i: number): T => {
  const v = list[i]
  if (v === undefined) throw new CodecError(`enum index ${i} out of range`)
  return v
}

// ---- requests ----

const writeInts = (w: BinaryWriter, list: readonly number[]): void => {
  w.uint(list.length)
  for (const v of list) w.int(v)
}
const readInts = (r: BinaryReader): number[] => {
  const out: number[] = []
  for (let n = r.uint(); n > 0; n--) out.push(r.int())
  return out
}

const readInt64s = (r: BinaryReader): bigint[] => {
  const out: bigint[] = []
  for (let n = r.uint(); n > 0; n--) out.push(r.int64())
  return out
}

const writeRange = (w: BinaryWriter, r: RangeRequest): void => {
  w.bytes(r.key)
    .bytes(r.rangeEnd ?? EMPTY)
    .int(r.limit ?? 0)
    .int(r.revision ?? 0)
    .u8(indexOf(SORT_ORDERS, r.sortOrder ?? "NONE"))
    .u8(indexOf(SORT_TARGETS, r.sortTarget ?? "KEY"))
    .u8((r.serializable ? 1 : 0) | (r.keysOnly ? 2 : 0) | (r.countOnly ? 4 : 0))
    .int(r.minModRevision ?? 0)
    .int(r.maxModRevision ?? 0)
    .int(r.minCreateRevision ?? 0)
    .int(r.maxCreateRevision ?? 0)
}
const readRange = (r: BinaryReader): RangeRequest => {
  const key = r.bytes()
  const rangeEnd = r.bytes()
  const limit = r.int()
  const revision = r.int()
  const sortOrder = pick(SORT_ORDERS, r.u8())
  const sortTarget = pick(SORT_TARGETS, r.u8())
  const flags = r.u8()
  return {
    key,
    rangeEnd,
    limit,
    revision,
    sortOrder,
    sortTarget,
    serializable: (flags & 1) !== 0,
    keysOnly: (flags & 2) !== 0,
    countOnly: (flags & 4) !== 0,
    minModRevision: r.int(),
    maxModRevision: r.int(),
    minCreateRevision: r.int(),
    maxCreateRevision: r.int(),
  }
}

const writePut = (w: BinaryWriter, p: PutRequest): void => {
  w.bytes(p.key)
    .bytes(p.value ?? EMPTY)
    .int64(p.lease ?? 0n)
    .u8((p.prevKv ? 1 : 0) | (p.ignoreValue ? 2 : 0) | (p.ignoreLease ? 4 : 0))
}
const readPut = (r: BinaryReader): PutRequest => {
  const key = r.bytes()
  const value = r.bytes()
  const lease = r.int64()
  const flags = r.u8()
  return {
    key,
    value,
    lease,
    prevKv: (flags & 1) !== 0,
    ignoreValue: (flags & 2) !== 0,
    ignoreLease: (flags & 4) !== 0,
  }
}

const writeDelete = (w: BinaryWriter, d: DeleteRangeRequest): void => {
  w.bytes(d.key)
    .bytes(d.rangeEnd ?? EMPTY)
    .bool(d.prevKv)
}
const readDelete = (r: BinaryReader): DeleteRangeRequest => ({
  key: r.bytes(),
  rangeEnd: r.bytes(),
  prevKv: r.bool(),
})

const writeCompare = (w: BinaryWriter, c: Compare): void => {
  w.bytes(c.key)
    .bytes(c.rangeEnd ?? EMPTY)
    .u8(indexOf(TARGETS, c.target))
    .u8(indexOf(RESULTS, c.result))
    .bytes(c.value ?? EMPTY)
    .int64(c.operand ?? 0n)
}
const readCompare = (r: BinaryReader): Compare => ({
  key: r.bytes(),
  rangeEnd: r.bytes(),
  target: pick(TARGETS, r.u8()),
  result: pick(RESULTS, r.u8()),
  value: r.bytes(),
  operand: r.int64(),
})

const writeOps = (w: BinaryWriter, ops: readonly RequestOp[]): void => {
  w.uint(ops.length)
  for (const op of ops) {
    w.u8(indexOf(OPS, op.type))
    switch (op.type) {
      case "range":
        writeRange(w, op.request)
        break
      case "put":
        writePut(w, op.request)
        break
      case "deleteRange":
        writeDelete(w, op.request)
        break
      case "txn":
        writeTxn(w, op.request)
        break
    }
  }
}
const readOps = (r: BinaryReader): RequestOp[] => {
  const n = r.uint()
  const ops: RequestOp[] = []
  for (let i = 0; i < n; i++) {
    const type = pick(OPS, r.u8())
    switch (type) {
      case "range":
        ops.push({ type, request: readRange(r) })
        break
      case "put":
        ops.push({ type, request: readPut(r) })
        break
      case "deleteRange":
        ops.push({ type, request: readDelete(r) })
        break
      case "txn":
        ops.push({ type, request: readTxn(r) })
        break
    }
  }
  return ops
}

const writeTxn = (w: BinaryWriter, t: TxnRequest): void => {
  w.uint(t.compare.length)
  for (const c of t.compare) writeCompare(w, c)
  writeOps(w, t.success)
  writeOps(w, t.failure)
}
const readTxn = (r: BinaryReader): TxnRequest => {
  const n = r.uint()
  const compare: Compare[] = []
  for (let i = 0; i < n; i++) compare.push(readCompare(r))
  return { compare, success: readOps(r), failure: readOps(r) }
}

const writeScope = (w: BinaryWriter, tenant: string | undefined, idem: IdempotencyKey | undefined): void => {
  w.string(tenant ?? "")
  if (idem === undefined) w.u8(0)
  else w.u8(1).string(idem.clientId).int(idem.requestId)
}
const readScope = (r: BinaryReader): { tenant?: string; idempotency?: IdempotencyKey } => {
  const tenant = r.string()
  const scope: { tenant?: string; idempotency?: IdempotencyKey } = {}
  if (tenant !== "") scope.tenant = tenant
  if (r.bool()) scope.idempotency = { clientId: r.string(), requestId: r.int() }
  return scope
}

export const encodeCommand = (c: KvCommand): Uint8Array => {
  const w = new BinaryWriter(64).u8(FORMAT).u8(indexOf(COMMANDS, c.type))
  switch (c.type) {
    case "put":
      writeScope(w, c.tenant, c.idempotency)
      writePut(w, c.request)
      break
    case "deleteRange":
      writeScope(w, c.tenant, c.idempotency)
      writeDelete(w, c.request)
      break
    case "txn":
      writeScope(w, c.tenant, c.idempotency)
      writeTxn(w, c.request)
      break
    case "compact":
      w.int(c.request.revision).bool(c.request.physical)
      break
    case "tick":
      w.int(c.tick).int(c.ms)
      break
    case "leaseGrant":
      w.int64(c.request.id).int(c.request.ttlMs)
      break
    case "leaseRevoke":
      w.int64(c.request.id)
      break
    case "leaseRenew":
      w.uint(c.request.ids.length)
      for (const id of c.request.ids) w.int64(id)
      break
  }
  return w.finish()
}

/** The type of an encoded command, without decoding the rest (routing on the proposal path). */
export const commandTypeOf = (data: Uint8Array): KvCommand["type"] => {
  if (data[0] !== FORMAT) throw new CodecError(`unknown command format ${data[0]}`)
  return pick(COMMANDS, data[1] ?? 255)
}

export const decodeCommand = (data: Uint8Array): KvCommand => {
  const r = new BinaryReader(data)
  const format = r.u8()
  if (format !== FORMAT) throw new CodecError(`unknown command format ${format}`)
  const type = pick(COMMANDS, r.u8())
  let c: KvCommand
  switch (type) {
    case "put":
      c = { type, ...readScope(r), request: readPut(r) }
      break
    case "deleteRange":
      c = { type, ...readScope(r), request: readDelete(r) }
      break
    case "txn":
      c = { type, ...readScope(r), request: readTxn(r) }
      break
    case "compact":
      c = { type, request: { revision: r.int(), physical: r.bool() } }
      break
    case "tick":
      c = { type, tick: r.int(), ms: r.int() }
      break
    case "leaseGrant":
      c = { type, request: { id: r.int64(), ttlMs: r.int() } }
      break
    case "leaseRevoke":
      c = { type, request: { id: r.int64() } }
      break
    case "leaseRenew":
      c = { type, request: { ids: readInt64s(r) } }
      break
  }
  r.end()
  return c
}

// ---- responses ----

const writeKv = (w: BinaryWriter, kv: KeyValue): void => {
  w.bytes(kv.key).int(kv.createRevision).int(kv.modRevision).int(kv.version).bytes(kv.value).int64(kv.lease)
}
const readKv = (r: BinaryReader): KeyValue => ({
  key: r.bytes(),
  createRevision: r.int(),
  modRevision: r.int(),
  version: r.int(),
  value: r.bytes(),
  lease: r.int64(),
})
const writeKvs = (w: BinaryWriter, kvs: readonly KeyValue[]): void => {
  w.uint(kvs.length)
  for (const kv of kvs) writeKv(w, kv)
}
const readKvs = (r: BinaryReader): KeyValue[] => {
  const n = r.uint()
  const out: KeyValue[] = []
  for (let i = 0; i < n; i++) out.push(readKv(r))
  return out
}

const writeRangeResp = (w: BinaryWriter, x: RangeResponse): void => {
  w.int(x.header.revision)
  writeKvs(w, x.kvs)
  w.bool(x.more).int(x.count)
}
const readRangeResp = (r: BinaryReader): RangeResponse => ({
  header: { revision: r.int() },
  kvs: readKvs(r),
  more: r.bool(),
  count: r.int(),
})
const writePutResp = (w: BinaryWriter, x: PutResponse): void => {
  w.int(x.header.revision)
  if (x.prevKv === undefined) w.u8(0)
  else writeKv(w.u8(1), x.prevKv)
}
const readPutResp = (r: BinaryReader): PutResponse => {
  const header = { revision: r.int() }
  return r.bool() ? { header, prevKv: readKv(r) } : { header }
}
const writeDeleteResp = (w: BinaryWriter, x: DeleteRangeResponse): void => {
  w.int(x.header.revision).int(x.deleted)
  writeKvs(w, x.prevKvs)
}
const readDeleteResp = (r: BinaryReader): DeleteRangeResponse => ({
  header: { revision: r.int() },
  deleted: r.int(),
  prevKvs: readKvs(r),
})
const writeTxnResp = (w: BinaryWriter, x: TxnResponse): void => {
  w.int(x.header.revision).bool(x.succeeded).uint(x.responses.length)
  for (const op of x.responses) {
    w.u8(indexOf(OPS, op.type))
    switch (op.type) {
      case "range":
        writeRangeResp(w, op.response)
        break
      case "put":
        writePutResp(w, op.response)
        break
      case "deleteRange":
        writeDeleteResp(w, op.response)
        break
      case "txn":
        writeTxnResp(w, op.response)
        break
    }
  }
}
const readTxnResp = (r: BinaryReader): TxnResponse => {
  const header = { revision: r.int() }
  const succeeded = r.bool()
  const n = r.uint()
  const responses: ResponseOp[] = []
  for (let i = 0; i < n; i++) {
    const type = pick(OPS, r.u8())
    switch (type) {
      case "range":
        responses.push({ type, response: readRangeResp(r) })
        break
      case "put":
        responses.push({ type, response: readPutResp(r) })
        break
      case "deleteRange":
        responses.push({ type, response: readDeleteResp(r) })
        break
      case "txn":
        responses.push({ type, response: readTxnResp(r) })
        break
    }
  }
  return { header, succeeded, responses }
}

export const encodeOutcome = (o: KvOutcome): Uint8Array => {
  const w = new BinaryWriter(32).u8(FORMAT)
  if (!o.ok) return w.u8(0).u8(indexOf(ERROR_KINDS, o.error.kind)).finish()
  const x = o.response
  w.u8(1).u8(indexOf(COMMANDS, x.type))
  switch (x.type) {
    case "put":
      writePutResp(w, x.response)
      break
    case "deleteRange":
      writeDeleteResp(w, x.response)
      break
    case "txn":
      writeTxnResp(w, x.response)
      break
    case "compact":
    case "tick":
    case "leaseRevoke":
      w.int(x.response.header.revision)
      break
    case "leaseGrant":
      w.int(x.response.header.revision).int64(x.response.id).int(x.response.ttlMs)
      break
    case "leaseRenew":
      w.int(x.response.header.revision)
      writeInts(w, x.response.ttlsMs)
      break
  }
  return w.finish()
}

export const decodeOutcome = (data: Uint8Array): KvOutcome => {
  const r = new BinaryReader(data)
  const format = r.u8()
  if (format !== FORMAT) throw new CodecError(`unknown outcome format ${format}`)
  if (!r.bool()) {
    const error = new KvError(pick(ERROR_KINDS, r.u8()))
    r.end()
    return { ok: false, error }
  }
  const type = pick(COMMANDS, r.u8())
  let response: KvResponse
  switch (type) {
    case "put":
      response = { type, response: readPutResp(r) }
      break
    case "deleteRange":
      response = { type, response: readDeleteResp(r) }
      break
    case "txn":
      response = { type, response: readTxnResp(r) }
      break
    case "compact":
    case "tick":
    case "leaseRevoke":
      response = { type, response: { header: { revision: r.int() } } }
      break
    case "leaseGrant":
      response = { type, response: { header: { revision: r.int() }, id: r.int64(), ttlMs: r.int() } }
      break
    case "leaseRenew":
      response = { type, response: { header: { revision: r.int() }, ttlsMs: readInts(r) } }
      break
  }
  r.end()
  return { ok: true, response }
}
