/**
 * The retry policy (docs/sdk.md, "Retries"). A failed attempt is retried on the next endpoint
 * only when both hold:
 *  - the failure says the request may not have been served: UNAVAILABLE (no leader, leader
 *    changed, node stopping, connection refused or dropped), DEADLINE_EXCEEDED of one attempt,
 *    or a connection reset that grpc-js reports as INTERNAL/CANCELLED (RST_STREAM);
 *  - repeating the operation cannot apply it twice: reads; writes that carry an idempotency key
 *    (Lattice applies a key once and answers retries with the recorded outcome); lease grant with
 *    a client-chosen ID and revoke, where a retry's "exists"/"not found" proves the first attempt
 *    worked.
 * Everything else fails at once with the server's code and message.
 */
import { GrpcCode } from "../adapters/etcd/errors.ts"
import type { LatticeClientError } from "./errors.ts"

export interface RetryPolicy {
  /** Attempts per operation, the first included. */
  readonly maxAttempts: number
  /** Backoff before the second attempt; doubles up to `maxBackoffMs`, with ±50% jitter. */
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
  /** Deadline of one attempt. */
  readonly attemptTimeoutMs: number
  /** Give up once this much time has passed since the first attempt. */
  readonly totalTimeoutMs: number
}

/** Enough to ride through a leader election and a rolling restart of one node at a time. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 40,
  initialBackoffMs: 25,
  maxBackoffMs: 1000,
  attemptTimeoutMs: 5000,
  totalTimeoutMs: 30_000,
}

/** Whether a failure may have left the request unserved, so an idempotent operation may be repeated. */
export const isTransient = (e: LatticeClientError): boolean => {
  if (e.code === GrpcCode.UNAVAILABLE || e.code === GrpcCode.DEADLINE_EXCEEDED) return true
  // grpc-js reports a connection reset mid-call (a node killed or restarting) with these codes.
  if (e.code === GrpcCode.INTERNAL || e.code === GrpcCode.CANCELLED || e.code === GrpcCode.UNKNOWN) {
    return /RST_STREAM|Connection dropped|Stream refused|ECONNRESET|socket hang up|GOAWAY/i.test(e.message)
  }
  return false
}

/** Backoff before attempt `attempt` (2 = the first retry), jittered. */
export const backoffMs = (
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number => {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, attempt - 2))
  return base * (0.5 + random())
}

export const validateRetryPolicy = (p: RetryPolicy): RetryPolicy => {
  const positive = (name: keyof RetryPolicy) => {
    if (!Number.isFinite(p[name]) || p[name] <= 0)
      throw new RangeError(`lattice: retry.${name} must be a positive number, got ${p[name]}`)
  }
  for (const k of Object.keys(DEFAULT_RETRY_POLICY) as (keyof RetryPolicy)[]) positive(k)
  if (!Number.isInteger(p.maxAttempts)) throw new RangeError("lattice: retry.maxAttempts must be an integer")
  if (p.maxBackoffMs < p.initialBackoffMs)
    throw new RangeError("lattice: retry.maxBackoffMs must be at least retry.initialBackoffMs")
  return p
}
