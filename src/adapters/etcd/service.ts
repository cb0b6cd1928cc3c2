/**
 * The etcd v3 API over an EtcdBackend, independent of transport: request checks, response
 * headers and etcd's per-RPC quirks. The gRPC server and the JSON gateway both call into it.
 */

import { createHash } from "node:crypto"
import type { AdapterMetrics } from "../../metrics/node-metrics.ts"
import { AsyncQueue } from "./async-queue.ts"
import type { EtcdBackend, EtcdLeaseBackend } from "./backend.ts"
import { type CallContext, NO_CONTEXT } from "./call-context.ts"
import * as election from "./election.ts"
import { EtcdError, EtcdErrors, GrpcCode, toEtcdError } from "./errors.ts"
import * as locks from "./lock.ts"
import * as pb from "./proto/etcd.gen.ts"
import {
  checkDelete,
  checkPut,
  checkRange,
  checkTxn,
  DEFAULT_MAX_TXN_OPS,
  validPeerURLs,
} from "./validate.ts"
import { serveWatchStream, WATCH_OVERFLOW_MESSAGE } from "./watch-stream.ts"

export interface EtcdServiceOptions {
  /** lattice_adapter_etcd_* metrics (src/adapters/etcd/instrument.ts); none when absent. */
  readonly metrics?: AdapterMetrics
  /** etcd's --max-txn-ops. */
  readonly maxTxnOps?: number
  /** etcd's --max-request-bytes: larger requests get "request is too large". */
  readonly maxRequestBytes?: number
  /**
   * Watch responses a stream may hold for a client that does not read them. Beyond it the stream
   * fails UNAVAILABLE, which etcd clients treat as retriable: they reconnect and resume from the
   * last revision they received, so a slow client costs bounded memory and loses nothing.
   */
  readonly maxPendingWatchResponses?: number
}

export const DEFAULT_MAX_PENDING_WATCH_RESPONSES = 10_000
export { WATCH_OVERFLOW_MESSAGE }

/** etcd's defaults. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024
/** etcd streams snapshots in 32 KiB pieces. */
const SNAPSHOT_CHUNK = 32 * 1024
const SNAPSHOT_ALIGN = 512
/** Keep-alive renewals of one stream being replicated at once. */
const MAX_KEEPALIVES_IN_FLIGHT = 1024
/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
const MAX_LEASE_TTL = 9_000_000_000n

const isLeaseNotFound = (err: unknown): boolean =>
  toEtcdError(err).message === EtcdErrors.leaseNotFound().message

export class EtcdService {
  readonly maxTxnOps: number
  readonly maxRequestBytes: number
  readonly maxPendingWatchResponses: number
  readonly metrics: AdapterMetrics | undefined

  constructor(
    readonly backend: EtcdBackend,
    options: EtcdServiceOptions = {},
  ) {
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES
    this.maxPendingWatchResponses = options.maxPendingWatchResponses ?? DEFAULT_MAX_PENDING_WATCH_RESPONSES
    this.metrics = options.metrics
  }

  /** etcd's header.fill: identity always, revision only when the backend left it unset. */
  private fill(h: pb.ResponseHeader | undefined): pb.ResponseHeader {
    const id = this.backend.identity()
    const revision = h?.revision !== undefined && h.revision !== 0n ? h.revision : id.revision
    return { clusterId: id.clusterId, memberId: id.memberId, revision, raftTerm: id.raftTerm }
  }

  /** The header the Cluster service sends: no revision. */
  private clusterHeader(): pb.ResponseHeader {
    const id = this.backend.identity()
    return { clusterId: id.clusterId, memberId: id.memberId, raftTerm: id.raftTerm }
  }

  /** Rejects a request whose encoded size exceeds --max-request-bytes. */
  checkSize(bytes: number): void {
    if (bytes > this.maxRequestBytes) throw EtcdErrors.requestTooLarge()
  }

  // --- KV ---

  async range(r: pb.RangeRequest): Promise<pb.RangeResponse> {
    checkRange(r)
    const res = await this.backend.range(r)
    return { ...res, header: this.fill(res.header) }
  }

  async put(r: pb.PutRequest, ctx: CallContext = NO_CONTEXT): Promise<pb.PutResponse> {
    checkPut(r)
    const res = await this.backend.put(r, ctx)
    return { ...res, header: this.fill(res.header) }
  }

  async deleteRange(
    r: pb.DeleteRangeRequest,
    ctx: CallContext = NO_CONTEXT,
  ): Promise<pb.DeleteRangeResponse> {
    checkDelete(r)
    const res = await this.backend.deleteRange(r, ctx)
    return { ...res, header: this.fill(res.header) }
  }

  async txn(r: pb.TxnRequest, ctx: CallContext = NO_CONTEXT): Promise<pb.TxnResponse> {
    checkTxn(r, this.maxTxnOps)
    const res = await this.backend.txn(r, ctx)
    return { ...res, header: this.fill(res.header) }
  }

  async compact(r: pb.CompactionRequest): Promise<pb.CompactionResponse> {
    const res = await this.backend.compact(r)
    return { ...res, header: this.fill(res.header) }
  }

  // --- Cluster ---

  async memberList(_r: pb.MemberListRequest): Promise<pb.MemberListResponse> {
    return { header: this.clusterHeader(), members: [...(await this.backend.members())] }
  }

  private async requireMember(id: bigint | undefined): Promise<pb.Member> {
    const m = (await this.backend.members()).find((x) => x.ID === (id ?? 0n))
    if (m === undefined) throw EtcdErrors.memberNotFound()
    return m
  }

  async memberAdd(r: pb.MemberAddRequest): Promise<pb.MemberAddResponse> {
    if (!validPeerURLs(r.peerURLs ?? [])) throw EtcdErrors.memberBadURLs()
    const members = await this.backend.members()
    const taken = new Set(members.flatMap((m) => m.peerURLs ?? []))
    if ((r.peerURLs ?? []).some((u) => taken.has(u))) throw EtcdErrors.peerURLExist()
    if (this.backend.addMember === undefined) throw EtcdErrors.notCapable()
    const res = await this.backend.addMember(r.peerURLs ?? [], r.isLearner === true)
    return { header: this.clusterHeader(), member: res.member, members: res.members }
  }

  async memberRemove(r: pb.MemberRemoveRequest): Promise<pb.MemberRemoveResponse> {
    await this.requireMember(r.ID)
    if (this.backend.removeMember === undefined) throw EtcdErrors.notCapable()
    return { header: this.clusterHeader(), members: await this.backend.removeMember(r.ID ?? 0n) }
  }

  async memberUpdate(r: pb.MemberUpdateRequest): Promise<pb.MemberUpdateResponse> {
    await this.requireMember(r.ID)
    if (!validPeerURLs(r.peerURLs ?? [])) throw EtcdErrors.memberBadURLs()
    if (this.backend.updateMember === undefined) throw EtcdErrors.notCapable()
    return {
      header: this.clusterHeader(),
      members: await this.backend.updateMember(r.ID ?? 0n, r.peerURLs ?? []),
    }
  }

  async memberPromote(r: pb.MemberPromoteRequest): Promise<pb.MemberPromoteResponse> {
    const m = await this.requireMember(r.ID)
    if (m.isLearner !== true) throw EtcdErrors.memberNotLearner()
    if (this.backend.promoteMember === undefined) throw EtcdErrors.notCapable()
    return { header: this.clusterHeader(), members: await this.backend.promoteMember(r.ID ?? 0n) }
  }

  // --- Maintenance ---

  async alarm(r: pb.AlarmRequest): Promise<pb.AlarmResponse> {
    // Only GET is meaningful while Lattice raises no alarms; etcd answers without a header.
    const alarms = this.backend.alarms?.() ?? []
    const action = r.action ?? pb.AlarmRequest_AlarmAction.GET
    if (action !== pb.AlarmRequest_AlarmAction.GET) return {}
    const wanted = alarms.filter(
      (a) =>
        (r.memberID === undefined || r.memberID === 0n || a.memberID === r.memberID) &&
        (r.alarm === undefined || r.alarm === pb.AlarmType.NONE || a.alarm === r.alarm),
    )
    return { alarms: wanted }
  }

  async status(_r: pb.StatusRequest): Promise<pb.StatusResponse> {
    const s = await this.backend.status()
    const errors = [...(s.errors ?? [])]
    if ((s.leader ?? 0n) === 0n) errors.unshift(EtcdErrors.noLeader().message)
    for (const a of this.backend.alarms?.() ?? []) {
      errors.push(`memberID:${a.memberID ?? 0n} alarm:${alarmName(a.alarm ?? 0)} `)
    }
    return { ...s, header: this.fill(undefined), errors }
  }

  async defragment(_r: pb.DefragmentRequest): Promise<pb.DefragmentResponse> {
    await this.backend.defragment?.()
    return {}
  }

  async hash(_r: pb.HashRequest): Promise<pb.HashResponse> {
    const h = await this.backend.hash()
    return { header: this.fill({ revision: h.revision }), hash: h.hash }
  }

  async hashKV(r: pb.HashKVRequest): Promise<pb.HashKVResponse> {
    const h = await this.backend.hashKV(r.revision ?? 0n)
    return { header: this.fill({ revision: h.revision }), hash: h.hash, compactRevision: h.compactRevision }
  }

  async moveLeader(r: pb.MoveLeaderRequest): Promise<pb.MoveLeaderResponse> {
    await this.backend.moveLeader(r.targetID ?? 0n)
    return {}
  }

  /**
   * The database in 32 KiB pieces with the bytes still to come, then its SHA-256 as a last
   * message: what etcdctl's `snapshot save` checks (size % 512 === 32 once the digest is added).
   * A database whose size is not a multiple of 512 is zero-padded; a restore must ignore the padding.
   */
  async *snapshot(_r: pb.SnapshotRequest): AsyncGenerator<pb.SnapshotResponse> {
    const snap = await this.backend.snapshot()
    const sha = createHash("sha256")
    let sent = 0
    let pending: Uint8Array[] = []
    let pendingBytes = 0
    const piece = (n: number): Uint8Array => {
      const out = new Uint8Array(n)
      let off = 0
      while (off < n) {
        const head = pending[0]!
        const take = Math.min(head.length, n - off)
        out.set(head.subarray(0, take), off)
        off += take
        if (take === head.length) pending.shift()
        else pending[0] = head.subarray(take)
      }
      pendingBytes -= n
      return out
    }
    // etcdctl only accepts a database whose size is a multiple of 512 (bolt pages): zero-pad.
    const total = Math.ceil(snap.size / SNAPSHOT_ALIGN) * SNAPSHOT_ALIGN
    const send = (n: number): pb.SnapshotResponse => {
      const blob = piece(n)
      sent += blob.length
      sha.update(blob)
      return { remainingBytes: BigInt(Math.max(0, total - sent)), blob }
    }
    for await (const chunk of snap.chunks) {
      pending.push(chunk)
      pendingBytes += chunk.length
      while (pendingBytes >= SNAPSHOT_CHUNK) yield send(SNAPSHOT_CHUNK)
    }
    const pad = (SNAPSHOT_ALIGN - ((sent + pendingBytes) % SNAPSHOT_ALIGN)) % SNAPSHOT_ALIGN
    if (pad > 0) {
      pending.push(new Uint8Array(pad))
      pendingBytes += pad
    }
    while (pendingBytes > SNAPSHOT_CHUNK) yield send(SNAPSHOT_CHUNK)
    if (pendingBytes > 0 || sent === 0) yield send(pendingBytes)
    pending = []
    yield { remainingBytes: 0n, blob: new Uint8Array(sha.digest()) }
  }

  // --- Lease ---

  private leases(): EtcdLeaseBackend {
    const l = this.backend.leases
    if (l === undefined) throw new EtcdError(GrpcCode.UNIMPLEMENTED, "unknown service etcdserverpb.Lease")
    return l
  }

  async leaseGrant(r: pb.LeaseGrantRequest): Promise<pb.LeaseGrantResponse> {
    if ((r.TTL ?? 0n) > MAX_LEASE_TTL) throw EtcdErrors.leaseTTLTooLarge()
    const g = await this.leases().grant(r.TTL ?? 0n, r.ID ?? 0n)
    return { header: this.fill({ revision: g.revision }), ID: g.id, TTL: g.ttl }
  }

  async leaseRevoke(r: pb.LeaseRevokeRequest): Promise<pb.LeaseRevokeResponse> {
    const res = await this.leases().revoke(r.ID ?? 0n)
    return { header: this.fill({ revision: res.revision }) }
  }

  /** etcd answers an unknown lease with TTL -1 rather than an error. */
  async leaseTimeToLive(r: pb.LeaseTimeToLiveRequest): Promise<pb.LeaseTimeToLiveResponse> {
    try {
      const t = await this.leases().timeToLive(r.ID ?? 0n, r.keys === true)
      return { header: this.fill(undefined), ID: r.ID, TTL: t.ttl, grantedTTL: t.grantedTTL, keys: t.keys }
    } catch (err) {
      if (isLeaseNotFound(err)) return { header: this.fill(undefined), ID: r.ID, TTL: -1n }
      throw err
    }
  }

  async leaseLeases(_r: pb.LeaseLeasesRequest): Promise<pb.LeaseLeasesResponse> {
    const ids = await this.leases().list()
    return { header: this.fill(undefined), leases: ids.map((ID) => ({ ID })) }
  }

  /**
   * One response per request, in order. Renewals are pipelined (up to MAX_KEEPALIVES_IN_FLIGHT
   * per stream): a Lattice renewal is a replicated write, so one at a time would cap a stream
   * at one renewal per commit. The header is taken before renewing (as etcd does) so its
   * revision never runs ahead of the renewal; an unknown lease answers TTL 0, not an error.
   */
  async *leaseKeepAlive(
    requests: AsyncIterable<pb.LeaseKeepAliveRequest>,
  ): AsyncGenerator<pb.LeaseKeepAliveResponse> {
    const leases = this.leases()
    const answers = new AsyncQueue<Promise<pb.LeaseKeepAliveResponse>>()
    let inFlight = 0
    let room: (() => void) | undefined
    const renew = async (r: pb.LeaseKeepAliveRequest): Promise<pb.LeaseKeepAliveResponse> => {
      const header = this.fill(undefined)
      try {
        return { header, ID: r.ID, TTL: await leases.renew(r.ID ?? 0n) }
      } catch (err) {
        if (!isLeaseNotFound(err)) throw err
        return { header, ID: r.ID, TTL: 0n }
      } finally {
        inFlight--
        room?.()
        room = undefined
      }
    }
    const pump = (async () => {
      for await (const r of requests) {
        while (inFlight >= MAX_KEEPALIVES_IN_FLIGHT) await new Promise<void>((resolve) => (room = resolve))
        inFlight++
        const answer = renew(r)
        answer.catch(() => {}) // observed below, in order
        answers.push(answer)
      }
      answers.close()
    })()
    pump.catch((e) => answers.fail(e))
    for await (const answer of answers) yield await answer
  }

  // --- Watch ---

  /** One watch stream (watch-stream.ts); ends when `signal` aborts (client gone). */
  watch(requests: AsyncIterable<pb.WatchRequest>, signal: AbortSignal): AsyncGenerator<pb.WatchResponse> {
    return serveWatchStream(
      this.backend,
      { maxPendingResponses: this.maxPendingWatchResponses, maxResponseBytes: this.maxRequestBytes },
      requests,
      signal,
    )
  }

  // --- v3electionpb.Election and v3lockpb.Lock (etcd's concurrency recipes, server side) ---

  async campaign(r: pb.CampaignRequest, ctx: CallContext = NO_CONTEXT): Promise<pb.CampaignResponse> {
    const res = await election.campaign(this.backend, r, ctx.signal)
    return { ...res, header: this.fill(res.header) }
  }

  async proclaim(r: pb.ProclaimRequest): Promise<pb.ProclaimResponse> {
    return { header: this.fill((await election.proclaim(this.backend, r)).header) }
  }

  async leader(r: pb.LeaderRequest): Promise<pb.LeaderResponse> {
    const res = await election.leader(this.backend, r)
    return { ...res, header: this.fill(res.header) }
  }

  async *observe(r: pb.LeaderRequest, signal: AbortSignal): AsyncGenerator<pb.LeaderResponse> {
    for await (const res of election.observe(this.backend, r, signal))
      yield { ...res, header: this.fill(res.header) }
  }

  async resign(r: pb.ResignRequest): Promise<pb.ResignResponse> {
    return { header: this.fill((await election.resign(this.backend, r)).header) }
  }

  async lock(r: pb.LockRequest, ctx: CallContext = NO_CONTEXT): Promise<pb.LockResponse> {
    const res = await locks.lock(this.backend, r, ctx.signal)
    return { ...res, header: this.fill(res.header) }
  }

  async unlock(r: pb.UnlockRequest): Promise<pb.UnlockResponse> {
    return { header: this.fill((await locks.unlock(this.backend, r)).header) }
  }

  // --- grpc.health.v1 ---

  async healthCheck(r: pb.HealthCheckRequest): Promise<pb.HealthCheckResponse> {
    // etcd registers the serving status for the empty service name only.
    if ((r.service ?? "") !== "") throw new EtcdError(GrpcCode.NOT_FOUND, "unknown service")
    return { status: pb.HealthCheckResponse_ServingStatus.SERVING }
  }
}

const alarmName = (a: number): string =>
  a === 1 ? "NOSPACE" : a === 2 ? "CORRUPT" : a === 0 ? "NONE" : String(a)
