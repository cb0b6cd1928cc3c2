/**
 * Messages of the NATS request-reply KV service (docs/nats-api.md). JSON on the wire, in the
 * shapes of etcd's JSON gateway so its knowledge carries over: snake_case fields, bytes as
 * base64 strings, int64 as decimal strings (numbers are accepted on input), enums by name.
 * Decoded types carry `bigint` and `Uint8Array`.
 */
import { ParseResult, Schema } from "effect"

/** base64 on the wire, bytes decoded. */
export const Bytes = Schema.Uint8ArrayFromBase64
/** int64: a decimal string (as etcd's gateway writes it) or a safe integer number on input. */
export const Int64 = Schema.Union(Schema.BigInt, Schema.BigIntFromNumber)

const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

export const SortOrder = Schema.Literal("NONE", "ASCEND", "DESCEND")
export const SortTarget = Schema.Literal("KEY", "VERSION", "CREATE", "MOD", "VALUE")
export const CompareResult = Schema.Literal("EQUAL", "GREATER", "LESS", "NOT_EQUAL")
export const CompareTarget = Schema.Literal("VERSION", "CREATE", "MOD", "VALUE", "LEASE")

export const RangeRequest = Schema.Struct({
  key: Bytes,
  range_end: opt(Bytes),
  limit: opt(Int64),
  revision: opt(Int64),
  sort_order: opt(SortOrder),
  sort_target: opt(SortTarget),
  /** false (default): linearizable read; true: this member's local state. */
  serializable: opt(Schema.Boolean),
  keys_only: opt(Schema.Boolean),
  count_only: opt(Schema.Boolean),
  min_mod_revision: opt(Int64),
  max_mod_revision: opt(Int64),
  min_create_revision: opt(Int64),
  max_create_revision: opt(Int64),
})
export type RangeRequest = typeof RangeRequest.Type

export const PutRequest = Schema.Struct({
  key: Bytes,
  value: opt(Bytes),
  lease: opt(Int64),
  prev_kv: opt(Schema.Boolean),
  ignore_value: opt(Schema.Boolean),
  ignore_lease: opt(Schema.Boolean),
})
export type PutRequest = typeof PutRequest.Type

export const DeleteRangeRequest = Schema.Struct({
  key: Bytes,
  range_end: opt(Bytes),
  prev_kv: opt(Schema.Boolean),
})
export type DeleteRangeRequest = typeof DeleteRangeRequest.Type

export const Compare = Schema.Struct({
  key: Bytes,
  range_end: opt(Bytes),
  result: opt(CompareResult),
  target: opt(CompareTarget),
  version: opt(Int64),
  create_revision: opt(Int64),
  mod_revision: opt(Int64),
  value: opt(Bytes),
  lease: opt(Int64),
})
export type Compare = typeof Compare.Type

export interface TxnRequest {
  readonly compare?: readonly Compare[]
  readonly success?: readonly RequestOp[]
  readonly failure?: readonly RequestOp[]
}
export interface TxnRequestEncoded {
  readonly compare?: readonly (typeof Compare.Encoded)[]
  readonly success?: readonly RequestOpEncoded[]
  readonly failure?: readonly RequestOpEncoded[]
}
export type RequestOp =
  | { readonly request_range: RangeRequest }
  | { readonly request_put: PutRequest }
  | { readonly request_delete_range: DeleteRangeRequest }
  | { readonly request_txn: TxnRequest }
export type RequestOpEncoded =
  | { readonly request_range: typeof RangeRequest.Encoded }
  | { readonly request_put: typeof PutRequest.Encoded }
  | { readonly request_delete_range: typeof DeleteRangeRequest.Encoded }
  | { readonly request_txn: TxnRequestEncoded }

export const RequestOp: Schema.Schema<RequestOp, RequestOpEncoded> = Schema.Union(
  Schema.Struct({ request_range: RangeRequest }),
  Schema.Struct({ request_put: PutRequest }),
  Schema.Struct({ request_delete_range: DeleteRangeRequest }),
  Schema.Struct({ request_txn: Schema.suspend(() => TxnRequest) }),
)

export const TxnRequest: Schema.Schema<TxnRequest, TxnRequestEncoded> = Schema.Struct({
  compare: opt(Schema.Array(Compare)),
  success: opt(Schema.Array(RequestOp)),
  failure: opt(Schema.Array(RequestOp)),
})

export const CompactionRequest = Schema.Struct({
  revision: Int64,
  physical: opt(Schema.Boolean),
})
export type CompactionRequest = typeof CompactionRequest.Type

/** Status takes no arguments; `{}` (or an empty message) asks for it. */
export const StatusRequest = Schema.Struct({})

// --- responses ---

export const ResponseHeader = Schema.Struct({
  cluster_id: Int64,
  member_id: Int64,
  revision: Int64,
  raft_term: Int64,
})
export type ResponseHeader = typeof ResponseHeader.Type

export const KeyValue = Schema.Struct({
  key: Bytes,
  create_revision: Int64,
  mod_revision: Int64,
  version: Int64,
  value: Bytes,
  lease: Int64,
})
export type KeyValue = typeof KeyValue.Type

export const RangeResponse = Schema.Struct({
  header: ResponseHeader,
  kvs: Schema.Array(KeyValue),
  more: Schema.Boolean,
  count: Int64,
})
export type RangeResponse = typeof RangeResponse.Type

export const PutResponse = Schema.Struct({ header: ResponseHeader, prev_kv: opt(KeyValue) })
export type PutResponse = typeof PutResponse.Type

export const DeleteRangeResponse = Schema.Struct({
  header: ResponseHeader,
  deleted: Int64,
  prev_kvs: Schema.Array(KeyValue),
})
export type DeleteRangeResponse = typeof DeleteRangeResponse.Type

/** Nested responses carry etcd's reduced header: only `revision` is meaningful there. */
export interface TxnResponse {
  readonly header: ResponseHeader
  readonly succeeded: boolean
  readonly responses: readonly ResponseOp[]
}
export interface TxnResponseEncoded {
  readonly header: typeof ResponseHeader.Encoded
  readonly succeeded: boolean
  readonly responses: readonly ResponseOpEncoded[]
}
export type ResponseOp =
  | { readonly response_range: RangeResponse }
  | { readonly response_put: PutResponse }
  | { readonly response_delete_range: DeleteRangeResponse }
  | { readonly response_txn: TxnResponse }
export type ResponseOpEncoded =
  | { readonly response_range: typeof RangeResponse.Encoded }
  | { readonly response_put: typeof PutResponse.Encoded }
  | { readonly response_delete_range: typeof DeleteRangeResponse.Encoded }
  | { readonly response_txn: TxnResponseEncoded }

export const ResponseOp: Schema.Schema<ResponseOp, ResponseOpEncoded> = Schema.Union(
  Schema.Struct({ response_range: RangeResponse }),
  Schema.Struct({ response_put: PutResponse }),
  Schema.Struct({ response_delete_range: DeleteRangeResponse }),
  Schema.Struct({ response_txn: Schema.suspend(() => TxnResponse) }),
)

export const TxnResponse: Schema.Schema<TxnResponse, TxnResponseEncoded> = Schema.Struct({
  header: ResponseHeader,
  succeeded: Schema.Boolean,
  responses: Schema.Array(ResponseOp),
})

export const CompactionResponse = Schema.Struct({ header: ResponseHeader })
export type CompactionResponse = typeof CompactionResponse.Type

export const Member = Schema.Struct({
  id: Int64,
  name: Schema.String,
  peer_urls: Schema.Array(Schema.String),
  client_urls: Schema.Array(Schema.String),
  is_learner: Schema.Boolean,
})
export type Member = typeof Member.Type

export const StatusResponse = Schema.Struct({
  header: ResponseHeader,
  version: Schema.String,
  /** Member id of the leader as this member knows it; "0" when there is none. */
  leader: Int64,
  raft_term: Int64,
  raft_index: Int64,
  raft_applied_index: Int64,
  db_size: Int64,
  errors: Schema.Array(Schema.String),
  members: Schema.Array(Member),
})
export type StatusResponse = typeof StatusResponse.Type

/** Every failure: the gRPC code name etcd would return and etcd's exact message. */
export const ErrorResponse = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String }),
})
export type ErrorResponse = typeof ErrorResponse.Type

/** Operations, in subject order: `lattice.<cluster>.kv.<op>`. */
export const NATS_OPS = ["range", "put", "delete_range", "txn", "compact", "status"] as const
export type NatsOp = (typeof NATS_OPS)[number]

export const requestSchemas = {
  range: RangeRequest,
  put: PutRequest,
  delete_range: DeleteRangeRequest,
  txn: TxnRequest,
  compact: CompactionRequest,
  status: StatusRequest,
} as const

export const responseSchemas = {
  range: RangeResponse,
  put: PutResponse,
  delete_range: DeleteRangeResponse,
  txn: TxnResponse,
  compact: CompactionResponse,
  status: StatusResponse,
} as const

/** Parses JSON text then decodes it; failures name the path and what was expected. */
export const decodeJson = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
): { ok: true; value: A } | { ok: false; message: string } => {
  let json: unknown
  try {
    json = text.trim() === "" ? {} : JSON.parse(text)
  } catch (e) {
    return { ok: false, message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  const result = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(json)
  if (result._tag === "Right") return { ok: true, value: result.right }
  return { ok: false, message: formatIssues(result.left) }
}

/** One line per failing field: `compare[0].result: Expected "EQUAL", actual "SAME"; …`. */
const formatIssues = (error: ParseResult.ParseError): string => {
  const byPath = new Map<string, string[]>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = issue.path.reduce<string>(
      (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc === "" ? String(p) : `${acc}.${String(p)}`),
      "",
    )
    const key = path === "" ? "(message)" : path
    byPath.set(key, [...(byPath.get(key) ?? []), issue.message])
  }
  return [...byPath].map(([path, messages]) => `${path}: ${messages.join(" or ")}`).join("; ")
}
