/**
 * Every RPC the adapter serves: its descriptor (gRPC path and codecs), its etcd 3.4 gateway
 * path, and the EtcdService method that answers it. grpc-server.ts and gateway.ts are both
 * driven by this table, so the two transports cannot drift apart.
 */

import type { EtcdBackend } from "./backend.ts"
import type { CallContext } from "./call-context.ts"
import type { MethodDescriptor } from "./proto/descriptor.ts"
import * as pb from "./proto/etcd.gen.ts"
import type { EtcdService } from "./service.ts"

export interface UnaryRoute<Req, Res> {
  readonly kind: "unary"
  readonly method: MethodDescriptor<Req, Res>
  /** POST path on etcd's JSON gateway, when etcd exposes one. */
  readonly gatewayPath?: string
  /** `ctx` carries the caller's idempotency key (call-context.ts). */
  readonly call: (svc: EtcdService, req: Req, ctx: CallContext) => Promise<Res>
}

export interface ServerStreamRoute<Req, Res> {
  readonly kind: "serverStream"
  readonly method: MethodDescriptor<Req, Res>
  readonly gatewayPath?: string
  /** `signal` aborts when the client goes away, even if no response is pending. */
  readonly call: (svc: EtcdService, req: Req, signal: AbortSignal) => AsyncIterable<Res>
}

/** Client and server stream: responses are produced from the request stream (and events). */
export interface BidiStreamRoute<Req, Res> {
  readonly kind: "bidiStream"
  readonly method: MethodDescriptor<Req, Res>
  readonly gatewayPath?: string
  /** `signal` aborts when the client goes away, even if no response is pending. */
  readonly call: (svc: EtcdService, requests: AsyncIterable<Req>, signal: AbortSignal) => AsyncIterable<Res>
}

export type Route = (
  | UnaryRoute<unknown, unknown>
  | ServerStreamRoute<unknown, unknown>
  | BidiStreamRoute<unknown, unknown>
) & {
  /** Whether the backend supports this RPC; unsupported services are not registered at all. */
  readonly available?: (backend: EtcdBackend) => boolean
}

const unary = <Req, Res>(
  method: MethodDescriptor<Req, Res>,
  gatewayPath: string | undefined,
  call: (svc: EtcdService, req: Req, ctx: CallContext) => Promise<Res>,
): Route => ({ kind: "unary", method, gatewayPath, call }) as unknown as Route

const stream = <Req, Res>(
  method: MethodDescriptor<Req, Res>,
  gatewayPath: string | undefined,
  call: (svc: EtcdService, req: Req, signal: AbortSignal) => AsyncIterable<Res>,
): Route => ({ kind: "serverStream", method, gatewayPath, call }) as unknown as Route

const bidi = <Req, Res>(
  method: MethodDescriptor<Req, Res>,
  gatewayPath: string | undefined,
  call: (svc: EtcdService, requests: AsyncIterable<Req>, signal: AbortSignal) => AsyncIterable<Res>,
): Route => ({ kind: "bidiStream", method, gatewayPath, call }) as unknown as Route

const withLeases = (r: Route): Route => ({ ...r, available: (b) => b.leases !== undefined })
const withWatches = (r: Route): Route => ({ ...r, available: (b) => b.watches !== undefined })
/** Elections and locks are built on leases (candidates' keys) and watches (waiting for deletes). */
const withLeasesAndWatches = (r: Route): Route => ({
  ...r,
  available: (b) => b.leases !== undefined && b.watches !== undefined,
})

export const ROUTES: readonly Route[] = [
  unary(pb.KVService.Range, "/v3/kv/range", (s, r) => s.range(r)),
  unary(pb.KVService.Put, "/v3/kv/put", (s, r, ctx) => s.put(r, ctx)),
  unary(pb.KVService.DeleteRange, "/v3/kv/deleterange", (s, r, ctx) => s.deleteRange(r, ctx)),
  unary(pb.KVService.Txn, "/v3/kv/txn", (s, r, ctx) => s.txn(r, ctx)),
  unary(pb.KVService.Compact, "/v3/kv/compaction", (s, r) => s.compact(r)),

  unary(pb.ClusterService.MemberAdd, "/v3/cluster/member/add", (s, r) => s.memberAdd(r)),
  unary(pb.ClusterService.MemberRemove, "/v3/cluster/member/remove", (s, r) => s.memberRemove(r)),
  unary(pb.ClusterService.MemberUpdate, "/v3/cluster/member/update", (s, r) => s.memberUpdate(r)),
  unary(pb.ClusterService.MemberList, "/v3/cluster/member/list", (s, r) => s.memberList(r)),
  unary(pb.ClusterService.MemberPromote, "/v3/cluster/member/promote", (s, r) => s.memberPromote(r)),

  unary(pb.MaintenanceService.Alarm, "/v3/maintenance/alarm", (s, r) => s.alarm(r)),
  unary(pb.MaintenanceService.Status, "/v3/maintenance/status", (s, r) => s.status(r)),
  unary(pb.MaintenanceService.Defragment, "/v3/maintenance/defragment", (s, r) => s.defragment(r)),
  unary(pb.MaintenanceService.Hash, "/v3/maintenance/hash", (s, r) => s.hash(r)),
  // etcd 3.4 binds HashKV to /v3/maintenance/hash as well, where Hash wins: no gateway route.
  unary(pb.MaintenanceService.HashKV, undefined, (s, r) => s.hashKV(r)),
  stream(pb.MaintenanceService.Snapshot, "/v3/maintenance/snapshot", (s, r) => s.snapshot(r)),
  unary(pb.MaintenanceService.MoveLeader, "/v3/maintenance/transfer-leadership", (s, r) => s.moveLeader(r)),

  unary(pb.HealthService.Check, undefined, (s, r) => s.healthCheck(r)),

  // etcd 3.4 also binds revoke, timetolive and leases under /v3/kv/lease/….
  ...[
    unary(pb.LeaseService.LeaseGrant, "/v3/lease/grant", (s, r) => s.leaseGrant(r)),
    unary(pb.LeaseService.LeaseRevoke, "/v3/lease/revoke", (s, r) => s.leaseRevoke(r)),
    unary(pb.LeaseService.LeaseRevoke, "/v3/kv/lease/revoke", (s, r) => s.leaseRevoke(r)),
    unary(pb.LeaseService.LeaseTimeToLive, "/v3/lease/timetolive", (s, r) => s.leaseTimeToLive(r)),
    unary(pb.LeaseService.LeaseTimeToLive, "/v3/kv/lease/timetolive", (s, r) => s.leaseTimeToLive(r)),
    unary(pb.LeaseService.LeaseLeases, "/v3/lease/leases", (s, r) => s.leaseLeases(r)),
    unary(pb.LeaseService.LeaseLeases, "/v3/kv/lease/leases", (s, r) => s.leaseLeases(r)),
    bidi(pb.LeaseService.LeaseKeepAlive, "/v3/lease/keepalive", (s, r) => s.leaseKeepAlive(r)),
  ].map(withLeases),

  withWatches(bidi(pb.WatchService.Watch, "/v3/watch", (s, r, signal) => s.watch(r, signal))),

  ...[
    unary(pb.ElectionService.Campaign, "/v3/election/campaign", (s, r, ctx) => s.campaign(r, ctx)),
    unary(pb.ElectionService.Proclaim, "/v3/election/proclaim", (s, r) => s.proclaim(r)),
    unary(pb.ElectionService.Leader, "/v3/election/leader", (s, r) => s.leader(r)),
    stream(pb.ElectionService.Observe, "/v3/election/observe", (s, r, signal) => s.observe(r, signal)),
    unary(pb.ElectionService.Resign, "/v3/election/resign", (s, r) => s.resign(r)),
    unary(pb.LockService.Lock, "/v3/lock/lock", (s, r, ctx) => s.lock(r, ctx)),
    unary(pb.LockService.Unlock, "/v3/lock/unlock", (s, r) => s.unlock(r)),
  ].map(withLeasesAndWatches),
]

/** The routes a backend supports. */
export const routesFor = (backend: EtcdBackend): Route[] =>
  ROUTES.filter((r) => r.available === undefined || r.available(backend))
