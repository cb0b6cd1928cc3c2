/**
 * What the etcd adapter needs from a node. The node implements it over Raft and the MVCC state
 * machine; tests implement it over a local KvStateMachine. Messages are the generated etcdserverpb
 * types (int64 as bigint, bytes as Uint8Array).
 *
 * Errors: throw `EtcdErrors.*` (errors.ts) so clients see etcd's exact code and message. In
 * particular LIN-BOUND: a linearizable range (`serializable` false), a txn's compares and any
 * write must fail closed with an UNAVAILABLE error (`noLeader`, `leaderChanged`, `timeout`, …)
 * when the node cannot prove ReadIndex / reach quorum. Any other thrown error reaches the client
 * as UNKNOWN with its message, as in etcd.
 *
 * Headers: the adapter fills cluster_id, member_id and raft_term of every top-level header from
 * `identity()`, and the revision from it when the backend left it 0 (etcd's header.fill). The
 * backend sets `header.revision` of responses it returns, and of each nested txn response (etcd
 * sets only `{revision}` there).
 */
import type { CallContext } from "./call-context.ts"
import type * as pb from "./proto/etcd.gen.ts"

export interface MemberIdentity {
  readonly clusterId: bigint
  readonly memberId: bigint
  /** Current Raft term as this member knows it. */
  readonly raftTerm: bigint
  /** Current (applied) store revision. */
  readonly revision: bigint
}

export interface SnapshotStream {
  /** Total size in bytes. etcdctl needs a multiple of 512: the adapter zero-pads up to one. */
  readonly size: number
  readonly chunks: AsyncIterable<Uint8Array>
}

export interface EtcdBackend {
  identity(): MemberIdentity

  range(req: pb.RangeRequest): Promise<pb.RangeResponse>
  /** Writes: `ctx.idempotency`, when set, must reach the replicated command (retries apply once). */
  put(req: pb.PutRequest, ctx?: CallContext): Promise<pb.PutResponse>
  deleteRange(req: pb.DeleteRangeRequest, ctx?: CallContext): Promise<pb.DeleteRangeResponse>
  txn(req: pb.TxnRequest, ctx?: CallContext): Promise<pb.TxnResponse>
  compact(req: pb.CompactionRequest): Promise<pb.CompactionResponse>

  members(): Promise<readonly pb.Member[]>
  /** Membership changes; while absent the adapter answers as etcd would for a cluster that cannot change. */
  addMember?(
    peerURLs: readonly string[],
    isLearner: boolean,
  ): Promise<{ member: pb.Member; members: pb.Member[] }>
  removeMember?(id: bigint): Promise<pb.Member[]>
  updateMember?(id: bigint, peerURLs: readonly string[]): Promise<pb.Member[]>
  promoteMember?(id: bigint): Promise<pb.Member[]>

  /** Everything but the header; `errors` needs no "no leader" entry, the adapter adds it. */
  status(): Promise<pb.StatusResponse>
  /** Hash of the whole store, at `revision`. */
  hash(): Promise<{ hash: number; revision: bigint }>
  /** Hash of MVCC keys up to `revision` (0 = current). */
  hashKV(revision: bigint): Promise<{ hash: number; revision: bigint; compactRevision: bigint }>
  /** Throws `notLeader` on a follower and `badLeaderTransferee` for a target that is not a voter. */
  moveLeader(targetId: bigint): Promise<void>
  /** A consistent copy of the backend database. */
  snapshot(): Promise<SnapshotStream>
  defragment?(): Promise<void>
  /** Active alarms; none when absent. */
  alarms?(): readonly pb.AlarmMember[]

  /** Leases; the Lease service is served only when the backend has them. */
  readonly leases?: EtcdLeaseBackend
  /** Watches; the Watch service is served only when the backend has them. */
  readonly watches?: EtcdWatchBackend
}

/** What one watcher asks for, normalized as etcd's watch server does. */
export interface WatchSpec {
  readonly key: Uint8Array
  /** undefined: the single key; empty: every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array | undefined
  /** First revision to deliver (the current revision + 1 when the client gave none). */
  readonly startRevision: bigint
  /** Fill `prevKv` of each non-create event (etcd leaves it out when revision - 1 is compacted). */
  readonly prevKv: boolean
  /** Send periodic progress notifications (etcd: every 10 minutes while the watcher is synced). */
  readonly progressNotify?: boolean
}

export interface WatchSink {
  /**
   * Events of one or more whole revisions in revision order. `revision` is the response header's:
   * the events' revision for live ones, the revision the catch-up reached for past ones.
   */
  events(revision: bigint, events: pb.Event[]): void
  /** The start revision is compacted: the watch ends. */
  compacted(compactRevision: bigint): void
  /** A periodic progress notification: every event up to `revision` was delivered. */
  progress(revision: bigint): void
  /**
   * The engine ended the watch (a drain): the whole stream fails UNAVAILABLE with `reason`, so
   * etcd clients reconnect to another member and resume from their last revision.
   */
  cancelled(reason: string): void
  /** Responses queued for the client and not yet sent (the engine's backpressure signal). */
  backlog(): number
}

export interface WatchHandle {
  cancel(): void
  /** Every event of the watch up to this revision was delivered (answers progress requests). */
  progressRevision?(): bigint
}

/**
 * The watch engine. `watch` may deliver past events synchronously, then live ones as they
 * commit, each exactly once and in revision order, until `cancel`.
 */
export interface EtcdWatchBackend {
  watch(spec: WatchSpec, sink: WatchSink): WatchHandle
}

/**
 * Leases with etcd's semantics. IDs are int64. Errors: `leaseNotFound` (NOT_FOUND),
 * `leaseExist` (FAILED_PRECONDITION), `leaseTTLTooLarge` (OUT_OF_RANGE); writes fail closed
 * (UNAVAILABLE) without quorum, like KV writes.
 */
export interface EtcdLeaseBackend {
  /** `id` 0 lets the member choose one. Returns the id and the TTL actually granted. */
  grant(ttl: bigint, id: bigint): Promise<{ id: bigint; ttl: bigint; revision?: bigint }>
  /** Revokes the lease and deletes its keys; returns the store revision after that. */
  revoke(id: bigint): Promise<{ revision?: bigint }>
  /** Renews the lease; returns its TTL. */
  renew(id: bigint): Promise<bigint>
  /** Remaining and granted TTL, and the attached keys when `keys` is set. */
  timeToLive(id: bigint, keys: boolean): Promise<{ ttl: bigint; grantedTTL: bigint; keys: Uint8Array[] }>
  list(): Promise<readonly bigint[]>
}
