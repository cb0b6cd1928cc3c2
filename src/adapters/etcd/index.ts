/**
 * The etcd v3 adapter: what a node needs to serve etcd clients. Implement `EtcdBackend`, wrap it
 * in an `EtcdService`, then serve it over gRPC (`startEtcdGrpcServer`) and on the HTTP listener
 * (`createEtcdGateway`). See docs/api.md.
 */
export type {
  EtcdBackend,
  EtcdLeaseBackend,
  EtcdWatchBackend,
  MemberIdentity,
  SnapshotStream,
  WatchSink,
  WatchSpec,
} from "./backend.ts"
export { EtcdError, EtcdErrors, GrpcCode, httpStatusFromGrpcCode, toEtcdError } from "./errors.ts"
export { createEtcdGateway, type GatewayHandler } from "./gateway.ts"
export { type EtcdGrpcServer, startEtcdGrpcServer } from "./grpc-server.ts"
export * as kvMapping from "./kv-mapping.ts"
export * as etcdpb from "./proto/etcd.gen.ts"
export { DEFAULT_MAX_REQUEST_BYTES, EtcdService, type EtcdServiceOptions } from "./service.ts"
