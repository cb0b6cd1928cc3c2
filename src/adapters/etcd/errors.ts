/**
 * etcd's client-visible errors: gRPC status code plus the exact message etcd 3.4 sends
 * (etcdserver/api/v3rpc/rpctypes). Backends throw these; both the gRPC server and the JSON
 * gateway turn them into the same code and message that a real etcd returns.
 */

import { grpcCodeOf, KvError } from "../../../schemas/kv.ts"

/** gRPC status codes (google.rpc.Code). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode]

export class EtcdError extends Error {
  override readonly name = "EtcdError"
  constructor(
    readonly code: GrpcCode,
    message: string,
  ) {
    super(message)
  }
}

const e = (code: GrpcCode, message: string) => () => new EtcdError(code, message)
const { INVALID_ARGUMENT, OUT_OF_RANGE, RESOURCE_EXHAUSTED, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE } =
  GrpcCode

/** Factories, so every throw gets its own stack. Names follow etcd's ErrGRPC* variables. */
export const EtcdErrors = {
  emptyKey: e(INVALID_ARGUMENT, "etcdserver: key is not provided"),
  keyNotFound: e(INVALID_ARGUMENT, "etcdserver: key not found"),
  valueProvided: e(INVALID_ARGUMENT, "etcdserver: value is provided"),
  leaseProvided: e(INVALID_ARGUMENT, "etcdserver: lease is provided"),
  tooManyOps: e(INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  duplicateKey: e(INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  compacted: e(OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  futureRev: e(OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  noSpace: e(RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),

  leaseNotFound: e(NOT_FOUND, "etcdserver: requested lease not found"),
  leaseExist: e(FAILED_PRECONDITION, "etcdserver: lease already exists"),
  leaseTTLTooLarge: e(OUT_OF_RANGE, "etcdserver: too large lease TTL"),

  memberExist: e(FAILED_PRECONDITION, "etcdserver: member ID already exist"),
  peerURLExist: e(FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
  memberNotEnoughStarted: e(
    FAILED_PRECONDITION,
    "etcdserver: re-configuration failed due to not enough started members",
  ),
  memberBadURLs: e(INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
  memberNotFound: e(NOT_FOUND, "etcdserver: member not found"),
  memberNotLearner: e(FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
  learnerNotReady: e(
    FAILED_PRECONDITION,
    "etcdserver: can only promote a learner member which is in sync with leader",
  ),
  tooManyLearners: e(FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),

  requestTooLarge: e(INVALID_ARGUMENT, "etcdserver: request is too large"),
  tooManyRequests: e(RESOURCE_EXHAUSTED, "etcdserver: too many requests"),
  permissionDenied: e(GrpcCode.PERMISSION_DENIED, "etcdserver: permission denied"),

  noLeader: e(UNAVAILABLE, "etcdserver: no leader"),
  notLeader: e(FAILED_PRECONDITION, "etcdserver: not leader"),
  leaderChanged: e(UNAVAILABLE, "etcdserver: leader changed"),
  notCapable: e(UNAVAILABLE, "etcdserver: not capable"),
  stopped: e(UNAVAILABLE, "etcdserver: server stopped"),
  timeout: e(UNAVAILABLE, "etcdserver: request timed out"),
  timeoutDueToLeaderFail: e(
    UNAVAILABLE,
    "etcdserver: request timed out, possibly due to previous leader failure",
  ),
  timeoutDueToConnectionLost: e(
    UNAVAILABLE,
    "etcdserver: request timed out, possibly due to connection lost",
  ),
  timeoutWaitAppliedIndex: e(
    UNAVAILABLE,
    "etcdserver: request timed out, waiting for the applied index took too long",
  ),
  unhealthy: e(UNAVAILABLE, "etcdserver: unhealthy cluster"),
  corrupt: e(GrpcCode.DATA_LOSS, "etcdserver: corrupt cluster"),
  notSupportedForLearner: e(UNAVAILABLE, "etcdserver: rpc not supported for learner"),
  badLeaderTransferee: e(FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
} as const

/**
 * Anything a handler throws, as an EtcdError: the state machine's KvError keeps its code and
 * message; unknown errors become UNKNOWN, as in etcd's togRPCError.
 */
export const toEtcdError = (err: unknown): EtcdError => {
  if (err instanceof EtcdError) return err
  if (err instanceof KvError) return new EtcdError(grpcCodeOf(err) as GrpcCode, err.message)
  if (err instanceof Error) return new EtcdError(GrpcCode.UNKNOWN, err.message)
  return new EtcdError(GrpcCode.UNKNOWN, String(err))
}

/** grpc-gateway v1's HTTPStatusFromCode, which etcd 3.4's gateway uses. */
export const httpStatusFromGrpcCode = (code: number): number => {
  switch (code) {
    case GrpcCode.OK:
      return 200
    case GrpcCode.CANCELLED:
      return 408
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.OUT_OF_RANGE:
      return 400
    case GrpcCode.DEADLINE_EXCEEDED:
      return 504
    case GrpcCode.NOT_FOUND:
      return 404
    case GrpcCode.ALREADY_EXISTS:
    case GrpcCode.ABORTED:
      return 409
    case GrpcCode.PERMISSION_DENIED:
      return 403
    case GrpcCode.UNAUTHENTICATED:
      return 401
    case GrpcCode.RESOURCE_EXHAUSTED:
      return 429
    case GrpcCode.FAILED_PRECONDITION:
      return 412
    case GrpcCode.UNIMPLEMENTED:
      return 501
    case GrpcCode.UNAVAILABLE:
      return 503
    default:
      return 500
  }
}
