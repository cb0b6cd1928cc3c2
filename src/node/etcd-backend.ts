/**
 * The `EtcdBackend` the gRPC server and JSON gateway call, over a running node:
 *  - Range: linearizable by default (ReadIndex barrier, then a local read), `serializable` local;
 *  - Put / DeleteRange / Txn / Compact: replicated through Raft (forwarded to the leader by a
 *    follower) and answered with the apply result;
 *  - Lease: `etcd-leases.ts` (replicated grant/revoke/renew, linearizable time-to-live/list);
 *  - MemberList from the Raft membership, Status / Hash / HashKV / Snapshot from the local state,
 *    MoveLeader through a Raft leadership transfer;
 *  - Watch from this member's own applied state, through the group's WatchHub (etcd-watch.ts).
 */
import { statSync } from "node:fs"
import { Duration, Effect } from "effect"
import type { GroupHandle } from "../../actors/group.ts"
import { encodeKvSnapshot } from "../../actors/snapshot-data.ts"
import type { KvCommand, KvOutcome } from "../../schemas/kv.ts"
import { KvError } from "../../schemas/kv.ts"
import type {
  EtcdBackend,
  EtcdWatchBackend,
  MemberIdentity,
  SnapshotStream,
} from "../adapters/etcd/backend.ts"
import { type CallContext, NO_CONTEXT } from "../adapters/etcd/call-context.ts"
import { EtcdErrors } from "../adapters/etcd/errors.ts"
import * as map from "../adapters/etcd/kv-mapping.ts"
import type * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { EtcdCluster } from "./etcd-cluster.ts"
import { etcdErrorOf } from "./etcd-errors.ts"
import { NodeEtcdLeases } from "./etcd-leases.ts"
import { etcdWatchBackend } from "./etcd-watch.ts"
import { clusterIdOf, memberIdOf } from "./ids.ts"
import { KV_GROUP, type LatticeNode, type WriteFailure } from "./node.ts"
import { runOrThrow } from "./run-or-throw.ts"

/** Only the idempotency key travels in the replicated command (never the call's signal). */
const idempotencyOf = (ctx: CallContext) =>
  ctx.idempotency === undefined ? {} : { idempotency: ctx.idempotency }

export const ETCD_VERSION = "3.4.0"

const run = runOrThrow

export class NodeEtcdBackend implements EtcdBackend {
  readonly clusterId: bigint
  readonly memberId: bigint
  readonly watches: EtcdWatchBackend
  readonly leases: NodeEtcdLeases

  constructor(readonly node: LatticeNode) {
    this.clusterId = clusterIdOf(node.options.clusterName, node.options.members)
    this.memberId = memberIdOf(node.options.nodeId)
    this.watches = etcdWatchBackend(() => node.watchHub(KV_GROUP))
    this.leases = new NodeEtcdLeases(node)
  }

  private handle(): GroupHandle {
    const h = this.node.group(KV_GROUP)
    if (h === undefined) throw EtcdErrors.stopped()
    return h
  }

  identity(): MemberIdentity {
    const h = this.node.group(KV_GROUP)
    return {
      clusterId: this.clusterId,
      memberId: this.memberId,
      raftTerm: BigInt(h?.view.status.term ?? 0),
      revision: BigInt(Math.max(1, h?.sm.revision ?? 1)),
    }
  }

  private write(command: KvCommand, traceId?: string): Promise<KvOutcome> {
    // On the leader, without a fiber; a NotLeader there proposed nothing, so the Effect path
    // below (which forwards to the new leader and retries) takes over.
    const now = this.node.writeNow(command)
    if (now === null) return this.writeThroughEffect(command, traceId)
    return now.then(
      (o) => {
        if (o === null) throw new Error("the entry carried no KV outcome")
        return o
      },
      (failure: WriteFailure) => {
        if (failure._tag === "NotLeader") return this.writeThroughEffect(command, traceId)
        throw etcdErrorOf(failure)
      },
    )
  }

  private writeThroughEffect(command: KvCommand, traceId?: string): Promise<KvOutcome> {
    return run(
      this.node.write(command, undefined, traceId).pipe(
        Effect.mapError(etcdErrorOf),
        Effect.flatMap((o) =>
          o === null ? Effect.fail(new Error("the entry carried no KV outcome")) : Effect.succeed(o),
        ),
      ),
    )
  }

  /** A serializable read is local unless `[consensus] snapshot_only_reads` is off on a non-leader. */
  private servesSnapshotOnly(r: pb.RangeRequest): boolean {
    if (r.serializable !== true) return false
    return this.node.options.snapshotOnlyReads !== false || this.handle().view.status.role === "leader"
  }

  async range(r: pb.RangeRequest): Promise<pb.RangeResponse> {
    const h = this.servesSnapshotOnly(r)
      ? this.handle()
      : await this.node.linearizableRead().catch((e) => {
          // A failure (tagged) becomes etcd's error; a defect stays as it is.
          throw e !== null && typeof e === "object" && "_tag" in e ? (etcdErrorOf(e) ?? e) : e
        })
    const res = h.sm.range(map.toKvRange(r))
    if (res instanceof KvError) throw map.kvErrorToEtcd(res)
    return map.fromKvRange(res)
  }

  async put(r: pb.PutRequest, ctx: CallContext = NO_CONTEXT): Promise<pb.PutResponse> {
    const out = await this.write({ type: "put", request: map.toKvPut(r), ...idempotencyOf(ctx) }, ctx.traceId)
    return map.fromKvPut(map.unwrapOutcome(out, "put"))
  }

  async deleteRange(
    r: pb.DeleteRangeRequest,
    ctx: CallContext = NO_CONTEXT,
  ): Promise<pb.DeleteRangeResponse> {
    const out = await this.write(
      { type: "deleteRange", request: map.toKvDelete(r), ...idempotencyOf(ctx) },
      ctx.traceId,
    )
    return map.fromKvDelete(map.unwrapOutcome(out, "deleteRange"))
  }

  async txn(r: pb.TxnRequest, ctx: CallContext = NO_CONTEXT): Promise<pb.TxnResponse> {
    const out = await this.write({ type: "txn", request: map.toKvTxn(r), ...idempotencyOf(ctx) }, ctx.traceId)
    return map.fromKvTxn(map.unwrapOutcome(out, "txn"))
  }

  async compact(r: pb.CompactionRequest): Promise<pb.CompactionResponse> {
    const out = await this.write({ type: "compact", request: map.toKvCompaction(r) })
    const res = map.fromKvCompaction(map.unwrapOutcome(out, "compact"))
    if (r.physical) {
      const rev = map.toNumber(r.revision)
      await run(
        Effect.gen(this, function* () {
          while (!this.handle().sm.isCompacted(rev)) yield* Effect.sleep(Duration.millis(5))
        }).pipe(
          Effect.timeoutFail({
            duration: Duration.millis(this.node.options.requestTimeoutMs),
            onTimeout: () => EtcdErrors.timeout(),
          }),
        ),
      )
    }
    return res
  }

  private member(id: string, isLearner: boolean): pb.Member {
    return {
      ID: memberIdOf(id),
      name: id,
      peerURLs: [...(this.node.options.peerUrls[id] ?? [])],
      clientURLs: [...(this.node.options.clientUrls[id] ?? [])],
      isLearner,
    }
  }

  /** etcd's Cluster service (member add/remove/promote/update). */
  private get cluster(): EtcdCluster {
    return new EtcdCluster(this.node, () => this.members())
  }

  addMember(peerURLs: readonly string[], isLearner: boolean) {
    return this.cluster.addMember(peerURLs, isLearner)
  }

  removeMember(id: bigint) {
    return this.cluster.removeMember(id)
  }

  promoteMember(id: bigint) {
    return this.cluster.promoteMember(id)
  }

  updateMember(id: bigint, peerURLs: readonly string[]) {
    return this.cluster.updateMember(id, peerURLs)
  }

  async members(): Promise<readonly pb.Member[]> {
    const conf = this.handle().view.status.conf
    return [
      ...conf.voters.map((v) => this.member(v, false)),
      ...conf.learners.map((l) => this.member(l, true)),
    ]
  }

  async status(): Promise<pb.StatusResponse> {
    const h = this.handle()
    const st = h.view.status
    let size = 0
    try {
      size = statSync(this.node.kvDbPath(KV_GROUP)).size
    } catch {
      size = 0
    }
    return {
      version: ETCD_VERSION,
      dbSize: BigInt(size),
      dbSizeInUse: BigInt(size),
      leader: st.leader === null ? 0n : memberIdOf(st.leader),
      raftIndex: BigInt(st.commit),
      raftTerm: BigInt(st.term),
      raftAppliedIndex: BigInt(h.sm.appliedIndex),
      isLearner: st.role === "learner",
    }
  }

  async hash(): Promise<{ hash: number; revision: bigint }> {
    const sm = this.handle().sm
    return { hash: sm.hash(), revision: BigInt(sm.revision) }
  }

  async hashKV(revision: bigint): Promise<{ hash: number; revision: bigint; compactRevision: bigint }> {
    const res = this.handle().sm.hashKV(map.toNumber(revision))
    if (res instanceof KvError) throw map.kvErrorToEtcd(res)
    return {
      hash: res.hash,
      revision: BigInt(res.header.revision),
      compactRevision: BigInt(res.compactRevision),
    }
  }

  async moveLeader(targetId: bigint): Promise<void> {
    const h = this.handle()
    const st = h.view.status
    if (st.role !== "leader") throw EtcdErrors.notLeader()
    const target = st.conf.voters.find((v) => memberIdOf(v) === targetId)
    if (target === undefined) throw EtcdErrors.badLeaderTransferee()
    if (target === st.leader) return
    await run(
      Effect.gen(function* () {
        yield* h.send({ _tag: "transferLeader", to: target })
        while (h.view.status.leader !== target) yield* Effect.sleep(Duration.millis(10))
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.millis(this.node.options.requestTimeoutMs),
          onTimeout: () => EtcdErrors.timeoutDueToLeaderFail(),
        }),
      ),
    )
  }

  async snapshot(): Promise<SnapshotStream> {
    const bytes = encodeKvSnapshot(this.handle().sm)
    return {
      size: bytes.length,
      chunks: (async function* () {
        yield bytes
      })(),
    }
  }
}
