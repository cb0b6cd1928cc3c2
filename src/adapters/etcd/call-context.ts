/**
 * Per-call information that travels next to an etcd request: Lattice's idempotency key, carried
 * in gRPC metadata (or HTTP headers on the JSON gateway), so a client may retry a write after an
 * ambiguous failure and get the original outcome instead of a second apply (src/kv/idempotency.ts).
 * Plain etcd clients send neither header and see etcd's behaviour unchanged.
 */
import type { IdempotencyKey } from "../../../schemas/kv.ts"
import { EtcdError, GrpcCode } from "./errors.ts"

/** Metadata / header names (lower case, as gRPC and HTTP/2 send them). */
export const CLIENT_ID_HEADER = "lattice-client-id"
export const REQUEST_ID_HEADER = "lattice-request-id"
/** A client's id for one request, logged on every node the request reaches (docs/logging.md). */
export const TRACE_HEADER = "x-request-id"
const MAX_CLIENT_ID_LENGTH = 128

export interface CallContext {
  /** Set when the client sent both headers: the write is applied at most once per key. */
  readonly idempotency?: IdempotencyKey
  /** Aborts when the client cancels or goes away (long calls: Lock, Campaign). */
  readonly signal?: AbortSignal
  /** The client's x-request-id, for the logs (src/log/logger.ts); at most 200 characters. */
  readonly traceId?: string
}

export const NO_CONTEXT: CallContext = {}

const bad = (message: string) => new EtcdError(GrpcCode.INVALID_ARGUMENT, message)

/**
 * Reads the idempotency key from a header lookup; half a key or a malformed one is refused.
 * `signal` may be a function: then the signal is made on first use only (the gRPC server's
 * unary calls, where only Lock and Campaign ever look at it: an AbortController per call, and
 * the abort grpc-js signals when every call's stream closes, cost a few % of a read).
 */
export const callContextOf = (
  header: (name: string) => string | undefined,
  signal?: AbortSignal | (() => AbortSignal),
): CallContext => {
  const trace = header(TRACE_HEADER)
  const traceId = trace === undefined ? undefined : trace.slice(0, 200)
  const idempotency = idempotencyOf(header)
  if (idempotency === undefined && traceId === undefined && signal === undefined) return NO_CONTEXT
  const ctx: { idempotency?: IdempotencyKey; traceId?: string; signal?: AbortSignal } = {}
  if (idempotency !== undefined) ctx.idempotency = idempotency
  if (traceId !== undefined) ctx.traceId = traceId
  if (typeof signal === "function") {
    let made: AbortSignal | undefined
    Object.defineProperty(ctx, "signal", {
      enumerable: true,
      get: () => {
        made ??= signal()
        return made
      },
    })
  } else if (signal !== undefined) ctx.signal = signal
  return ctx
}

const idempotencyOf = (header: (name: string) => string | undefined): IdempotencyKey | undefined => {
  const clientId = header(CLIENT_ID_HEADER)
  const requestId = header(REQUEST_ID_HEADER)
  if (clientId === undefined && requestId === undefined) return undefined
  if (clientId === undefined || requestId === undefined) {
    throw bad(`lattice: send both ${CLIENT_ID_HEADER} and ${REQUEST_ID_HEADER}, or neither`)
  }
  if (clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw bad(`lattice: ${CLIENT_ID_HEADER} must be 1 to ${MAX_CLIENT_ID_LENGTH} characters`)
  }
  const id = /^[0-9]{1,16}$/.test(requestId) ? Number(requestId) : Number.NaN
  if (!Number.isSafeInteger(id)) {
    throw bad(`lattice: ${REQUEST_ID_HEADER} must be a decimal integer below 2^53, got "${requestId}"`)
  }
  return { clientId, requestId: id }
}
