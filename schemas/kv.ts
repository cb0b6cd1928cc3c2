/**
 * The MVCC key-value types shared by the state machine (`src/kv`), the adapters and the SDK.
 * They mirror etcd's `etcdserverpb` / `mvccpb` messages field by field (camelCase names),
 * with bytes as Uint8Array and int64 as JS numbers. Optional request fields default to
 * etcd's zero values (0, false, empty bytes).
 *
 * A `KvCommand` is what a Raft entry's `data` carries for a KV group; `src/kv/codec.ts`
 * encodes it in a compact binary form.
 */

import { Schema } from "effect"

export type Bytes = Uint8Array

export interface KeyValue {
  readonly key: Bytes
  readonly createRevision: number
  readonly modRevision: number
  readonly version: number
  readonly value: Bytes
  /** The lease id (int64; 0n: none). */
  readonly lease: bigint
}

export interface ResponseHeader {
  /** 0 where etcd leaves the header empty (the header of a nested txn response). */
  readonly revision: number
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND"
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE"

export interface RangeRequest {
  readonly key: Bytes
  /** Empty: the single key. `[0]`: every key >= key. Otherwise the half-open range [key, rangeEnd). */
  readonly rangeEnd?: Bytes
  readonly limit?: number
  /** 0 reads at the current revision. */
  readonly revision?: number
  readonly sortOrder?: SortOrder
  readonly sortTarget?: SortTarget
  readonly serializable?: boolean
  readonly keysOnly?: boolean
  readonly countOnly?: boolean
  readonly minModRevision?: number
  readonly maxModRevision?: number
  readonly minCreateRevision?: number
  readonly maxCreateRevision?: number
}

export interface RangeResponse {
  readonly header: ResponseHeader
  readonly kvs: readonly KeyValue[]
  readonly more: boolean
  readonly count: number
}

export interface PutRequest {
  readonly key: Bytes
  readonly value?: Bytes
  readonly lease?: bigint
  readonly prevKv?: boolean
  readonly ignoreValue?: boolean
  readonly ignoreLease?: boolean
}

export interface PutResponse {
  readonly header: ResponseHeader
  readonly prevKv?: KeyValue
}

export interface DeleteRangeRequest {
  readonly key: Bytes
  readonly rangeEnd?: Bytes
  readonly prevKv?: boolean
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader
  readonly deleted: number
  readonly prevKvs: readonly KeyValue[]
}

export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE"
export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL"

export interface Compare {
  readonly key: Bytes
  readonly rangeEnd?: Bytes
  readonly target: CompareTarget
  readonly result: CompareResult
  /** The operand when `target` is VALUE (empty when absent, as in etcd). */
  readonly value?: Bytes
  /** The operand for VERSION / CREATE / MOD / LEASE (0n when absent): any int64, as in etcd. */
  readonly operand?: bigint
}

export type RequestOp =
  | { readonly type: "range"; readonly request: RangeRequest }
  | { readonly type: "put"; readonly request: PutRequest }
  | { readonly type: "deleteRange"; readonly request: DeleteRangeRequest }
  | { readonly type: "txn"; readonly request: TxnRequest }

export type ResponseOp =
  | { readonly type: "range"; readonly response: RangeResponse }
  | { readonly type: "put"; readonly response: PutResponse }
  | { readonly type: "deleteRange"; readonly response: DeleteRangeResponse }
  | { readonly type: "txn"; readonly response: TxnResponse }

export interface TxnRequest {
  readonly compare: readonly Compare[]
  readonly success: readonly RequestOp[]
  readonly failure: readonly RequestOp[]
}

export interface TxnResponse {
  readonly header: ResponseHeader
  readonly succeeded: boolean
  readonly responses: readonly ResponseOp[]
}

export interface CompactionRequest {
  readonly revision: number
  /** The caller waits until history is physically removed (see `KvStateMachine.compactStep`). */
  readonly physical?: boolean
}

export interface CompactionResponse {
  readonly header: ResponseHeader
}

export interface HashKVResponse {
  readonly header: ResponseHeader
  readonly hash: number
  readonly compactRevision: number
}

/** Retries of a write carrying the same key get the original outcome instead of a second apply. */
export interface IdempotencyKey {
  readonly clientId: string
  readonly requestId: number
}

export const DEFAULT_TENANT = "default"

/**
 * Lease ids are etcd's int64, carried as `bigint` everywhere (gRPC, the JSON gateway's decimal
 * strings, the command codec's zigzag varints, SQLite INTEGER columns). A lease id is positive;
 * 0 means "no lease" in a put and "assign one" in a grant.
 */
export const MAX_LEASE_ID = 2n ** 63n - 1n
export const MIN_INT64 = -(2n ** 63n)

/** etcd's MaxLeaseTTL (9,000,000,000 s), in milliseconds. */
export const MAX_LEASE_TTL_MS = 9_000_000_000_000

/** Grants a lease. `id` 0 lets the state machine assign the next free id. */
export interface LeaseGrantRequest {
  readonly id: bigint
  readonly ttlMs: number
}
export interface LeaseGrantResponse {
  readonly header: ResponseHeader
  readonly id: bigint
  readonly ttlMs: number
}
export interface LeaseRevokeRequest {
  readonly id: bigint
}
/** Renews many leases in one entry (the leader batches keep-alives). */
export interface LeaseRenewRequest {
  readonly ids: readonly bigint[]
}
export interface LeaseRenewResponse {
  readonly header: ResponseHeader
  /** Per id, the granted TTL now running again; -1 for a lease that does not exist (or expired). */
  readonly ttlsMs: readonly number[]
}

/** A replicated command: what a KV group's Raft entry carries. */
export type KvCommand =
  | {
      readonly type: "put"
      readonly tenant?: string
      readonly idempotency?: IdempotencyKey
      readonly request: PutRequest
    }
  | {
      readonly type: "deleteRange"
      readonly tenant?: string
      readonly idempotency?: IdempotencyKey
      readonly request: DeleteRangeRequest
    }
  | {
      readonly type: "txn"
      readonly tenant?: string
      readonly idempotency?: IdempotencyKey
      readonly request: TxnRequest
    }
  | { readonly type: "compact"; readonly request: CompactionRequest }
  /**
   * Deterministic time: the leader's tick count and its proposed committed clock (ms). Applying
   * it moves the committed clock forward (never back) and expires the leases now due.
   */
  | { readonly type: "tick"; readonly tick: number; readonly ms: number }
  | { readonly type: "leaseGrant"; readonly request: LeaseGrantRequest }
  | { readonly type: "leaseRevoke"; readonly request: LeaseRevokeRequest }
  | { readonly type: "leaseRenew"; readonly request: LeaseRenewRequest }

export type KvResponse =
  | { readonly type: "put"; readonly response: PutResponse }
  | { readonly type: "deleteRange"; readonly response: DeleteRangeResponse }
  | { readonly type: "txn"; readonly response: TxnResponse }
  | { readonly type: "compact"; readonly response: CompactionResponse }
  | { readonly type: "tick"; readonly response: { readonly header: ResponseHeader } }
  | { readonly type: "leaseGrant"; readonly response: LeaseGrantResponse }
  | { readonly type: "leaseRevoke"; readonly response: { readonly header: ResponseHeader } }
  | { readonly type: "leaseRenew"; readonly response: LeaseRenewResponse }

export type GrpcCode = "INVALID_ARGUMENT" | "OUT_OF_RANGE" | "NOT_FOUND" | "FAILED_PRECONDITION"

/** The gRPC numeric codes the JSON gateway reports in `{"code": N}`. */
export const GRPC_CODE_NUMBER: Record<GrpcCode, number> = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
}

/** Each KV error kind, with etcd's exact message and gRPC code. */
export const KV_ERRORS = {
  EmptyKey: { message: "etcdserver: key is not provided", code: "INVALID_ARGUMENT" },
  KeyNotFound: { message: "etcdserver: key not found", code: "INVALID_ARGUMENT" },
  ValueProvided: { message: "etcdserver: value is provided", code: "INVALID_ARGUMENT" },
  LeaseProvided: { message: "etcdserver: lease is provided", code: "INVALID_ARGUMENT" },
  TooManyOps: { message: "etcdserver: too many operations in txn request", code: "INVALID_ARGUMENT" },
  DuplicateKey: { message: "etcdserver: duplicate key given in txn request", code: "INVALID_ARGUMENT" },
  Compacted: { message: "etcdserver: mvcc: required revision has been compacted", code: "OUT_OF_RANGE" },
  FutureRev: { message: "etcdserver: mvcc: required revision is a future revision", code: "OUT_OF_RANGE" },
  LeaseNotFound: { message: "etcdserver: requested lease not found", code: "NOT_FOUND" },
  // Appended after the original kinds: encoded outcomes store the kind's position.
  LeaseExist: { message: "etcdserver: lease already exists", code: "FAILED_PRECONDITION" },
  LeaseTTLTooLarge: { message: "etcdserver: too large lease TTL", code: "OUT_OF_RANGE" },
  LeaseIdOutOfRange: {
    message: `etcdserver: lease ID out of range: a lease ID is a positive int64 (1..${MAX_LEASE_ID}); pass ID 0 to have one assigned`,
    code: "INVALID_ARGUMENT",
  },
} as const satisfies Record<string, { message: string; code: GrpcCode }>

export type KvErrorKind = keyof typeof KV_ERRORS

/** A typed KV error. `message` is etcd's string, `grpcCode` its gRPC status code. */
export class KvError extends Error {
  readonly _tag = "KvError"
  override readonly name = "KvError"
  readonly grpcCode: GrpcCode
  constructor(readonly kind: KvErrorKind) {
    super(KV_ERRORS[kind].message)
    this.grpcCode = KV_ERRORS[kind].code
  }
}

export const grpcCodeOf = (error: KvError): number => GRPC_CODE_NUMBER[error.grpcCode]

/** The outcome of applying one command: etcd answers either a response or an error. */
export type KvOutcome =
  | { readonly ok: true; readonly response: KvResponse }
  | { readonly ok: false; readonly error: KvError }

// ---- Effect Schemas: validation of requests that arrive from outside (adapters, SDK) ----

const Bytes = Schema.Uint8ArrayFromSelf
/** int64 fields: integers that fit a JS number exactly. */
const Int64 = Schema.Number.pipe(
  Schema.int(),
  Schema.between(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
)
const opt = Schema.optional
/** int64 fields that may exceed 2^53 (lease ids, compare operands). */
const BigInt64 = Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(MIN_INT64, MAX_LEASE_ID))
/** A lease id: 0 (none / assign one) or 1..MAX_LEASE_ID. */
const LeaseId = Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(0n, MAX_LEASE_ID))

export const RangeRequestSchema: Schema.Schema<RangeRequest> = Schema.Struct({
  key: Bytes,
  rangeEnd: opt(Bytes),
  limit: opt(Int64),
  revision: opt(Int64),
  sortOrder: opt(Schema.Literal("NONE", "ASCEND", "DESCEND")),
  sortTarget: opt(Schema.Literal("KEY", "VERSION", "CREATE", "MOD", "VALUE")),
  serializable: opt(Schema.Boolean),
  keysOnly: opt(Schema.Boolean),
  countOnly: opt(Schema.Boolean),
  minModRevision: opt(Int64),
  maxModRevision: opt(Int64),
  minCreateRevision: opt(Int64),
  maxCreateRevision: opt(Int64),
})

export const PutRequestSchema: Schema.Schema<PutRequest> = Schema.Struct({
  key: Bytes,
  value: opt(Bytes),
  lease: opt(BigInt64),
  prevKv: opt(Schema.Boolean),
  ignoreValue: opt(Schema.Boolean),
  ignoreLease: opt(Schema.Boolean),
})

export const DeleteRangeRequestSchema: Schema.Schema<DeleteRangeRequest> = Schema.Struct({
  key: Bytes,
  rangeEnd: opt(Bytes),
  prevKv: opt(Schema.Boolean),
})

export const CompareSchema: Schema.Schema<Compare> = Schema.Struct({
  key: Bytes,
  rangeEnd: opt(Bytes),
  target: Schema.Literal("VERSION", "CREATE", "MOD", "VALUE", "LEASE"),
  result: Schema.Literal("EQUAL", "GREATER", "LESS", "NOT_EQUAL"),
  value: opt(Bytes),
  operand: opt(BigInt64),
})

export const RequestOpSchema: Schema.Schema<RequestOp> = Schema.Union(
  Schema.Struct({ type: Schema.Literal("range"), request: RangeRequestSchema }),
  Schema.Struct({ type: Schema.Literal("put"), request: PutRequestSchema }),
  Schema.Struct({ type: Schema.Literal("deleteRange"), request: DeleteRangeRequestSchema }),
  Schema.Struct({ type: Schema.Literal("txn"), request: Schema.suspend(() => TxnRequestSchema) }),
)

export const TxnRequestSchema: Schema.Schema<TxnRequest> = Schema.Struct({
  compare: Schema.Array(CompareSchema),
  success: Schema.Array(Schema.suspend(() => RequestOpSchema)),
  failure: Schema.Array(Schema.suspend(() => RequestOpSchema)),
})

export const CompactionRequestSchema: Schema.Schema<CompactionRequest> = Schema.Struct({
  revision: Int64,
  physical: opt(Schema.Boolean),
})

const IdempotencyKeySchema: Schema.Schema<IdempotencyKey> = Schema.Struct({
  clientId: Schema.String,
  requestId: Int64,
})

const scoped = {
  tenant: opt(Schema.String.pipe(Schema.minLength(1))),
  idempotency: opt(IdempotencyKeySchema),
}

export const KvCommandSchema: Schema.Schema<KvCommand> = Schema.Union(
  Schema.Struct({ type: Schema.Literal("put"), ...scoped, request: PutRequestSchema }),
  Schema.Struct({ type: Schema.Literal("deleteRange"), ...scoped, request: DeleteRangeRequestSchema }),
  Schema.Struct({ type: Schema.Literal("txn"), ...scoped, request: TxnRequestSchema }),
  Schema.Struct({ type: Schema.Literal("compact"), request: CompactionRequestSchema }),
  Schema.Struct({ type: Schema.Literal("tick"), tick: Int64, ms: Int64 }),
  Schema.Struct({
    type: Schema.Literal("leaseGrant"),
    request: Schema.Struct({ id: LeaseId, ttlMs: Int64 }),
  }),
  Schema.Struct({ type: Schema.Literal("leaseRevoke"), request: Schema.Struct({ id: LeaseId }) }),
  Schema.Struct({
    type: Schema.Literal("leaseRenew"),
    request: Schema.Struct({ ids: Schema.Array(LeaseId) }),
  }),
)

/** Validates an untrusted command; `Left` carries a readable parse error. */
export const decodeKvCommand = Schema.decodeUnknownEither(KvCommandSchema)
