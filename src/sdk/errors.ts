/** What SDK calls fail with: the gRPC status code and etcd's message, plus the endpoint that answered. */
import { GrpcCode } from "../adapters/etcd/errors.ts"

export { GrpcCode }

export class LatticeClientError extends Error {
  override readonly name = "LatticeClientError"
  constructor(
    /** gRPC status code (GrpcCode). */
    readonly code: number,
    message: string,
    /** The endpoint of the last attempt, when there was one. */
    readonly endpoint?: string,
  ) {
    super(message)
  }
}

/** A watch whose start revision was compacted away: re-read the current state, then watch from it. */
export class WatchCompactedError extends Error {
  override readonly name = "WatchCompactedError"
  constructor(readonly compactRevision: bigint) {
    super(
      `lattice: the watch start revision is compacted (floor ${compactRevision}): re-read the keys and watch from the revision of that read + 1`,
    )
  }
}

/** The lease behind a keep-alive, session, lock or election is gone or could not be renewed in time. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError"
  constructor(
    readonly leaseId: bigint,
    readonly reason: "expired" | "unreachable" | "revoked",
  ) {
    super(
      reason === "expired"
        ? `lattice: lease ${leaseId.toString(16)} expired or was revoked on the server`
        : reason === "revoked"
          ? `lattice: lease ${leaseId.toString(16)} was revoked by this client`
          : `lattice: lease ${leaseId.toString(16)} could not be renewed before its TTL ran out (no endpoint answered)`,
    )
  }
}

interface GrpcLikeError {
  readonly code?: unknown
  readonly details?: unknown
  readonly message?: unknown
}

/** A grpc-js ServiceError (or anything else) as a LatticeClientError. */
export const toClientError = (err: unknown, endpoint?: string): LatticeClientError => {
  if (err instanceof LatticeClientError) return err
  const e = (err ?? {}) as GrpcLikeError
  const code = typeof e.code === "number" ? e.code : GrpcCode.UNKNOWN
  const message =
    typeof e.details === "string" && e.details !== ""
      ? e.details
      : typeof e.message === "string"
        ? e.message
        : String(err)
  return new LatticeClientError(code, message, endpoint)
}
