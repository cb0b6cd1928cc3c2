/**
 * TEST ONLY: an in-memory EtcdBackend with etcd's MVCC semantics (revisions, versions,
 * history for reads at a past revision, compaction, txn). It stands in for the node until the
 * adapter is wired over Raft + KvStateMachine; it is not used by production code.
 */
import { createHash } from "node:crypto"
import type {
  EtcdBackend,
  EtcdLeaseBackend,
  EtcdWatchBackend,
  MemberIdentity,
  SnapshotStream,
  WatchSink,
  WatchSpec,
} from "../../../../src/adapters/etcd/backend.ts"
import { EtcdErrors } from "../../../../src/adapters/etcd/errors.ts"
import * as pb from "../../../../src/adapters/etcd/proto/etcd.gen.ts"

interface Rev {
  readonly rev: bigint
  /** undefined = deleted at rev */
  readonly kv: pb.KeyValue | undefined
}

/** A write transaction in progress: reads see its own writes (etcd's storeTxnWrite.Rev). */
interface WriteView {
  readonly begin: bigint
  changed: boolean
}
const viewRev = (w: WriteView): bigint => (w.changed ? w.begin + 1n : w.begin)

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const cmpBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b)

export interface MemoryBackendOptions {
  readonly clusterId?: bigint
  readonly memberId?: bigint
  readonly name?: string
  readonly clientURL?: string
  readonly peerURL?: string
  /** Leader id as Status reports it; 0 = no leader (LIN-BOUND: linearizable ops fail). */
  readonly leader?: bigint
}

export class MemoryEtcdBackend implements EtcdBackend {
  private readonly history = new Map<string, { key: Uint8Array; revs: Rev[] }>()
  private rev = 1n
  private compactRev = 0n
  readonly clusterId: bigint
  readonly memberId: bigint
  leader: bigint
  readonly term = 2n
  private readonly member: pb.Member

  constructor(opts: MemoryBackendOptions = {}) {
    this.clusterId = opts.clusterId ?? 0x1234_5678_9abc_def0n
    this.memberId = opts.memberId ?? 0x0fed_cba9_8765_4321n
    this.leader = opts.leader ?? this.memberId
    this.member = {
      ID: this.memberId,
      name: opts.name ?? "test",
      peerURLs: [opts.peerURL ?? "http://127.0.0.1:2380"],
      clientURLs: [opts.clientURL ?? "http://127.0.0.1:2379"],
    }
  }

  identity(): MemberIdentity {
    return { clusterId: this.clusterId, memberId: this.memberId, raftTerm: this.term, revision: this.rev }
  }

  private requireLeader(): void {
    if (this.leader === 0n) throw EtcdErrors.noLeader()
  }

  /** The key's value as of `at`, or undefined. */
  private kvAt(keyHex: string, at: bigint): pb.KeyValue | undefined {
    const h = this.history.get(keyHex)
    if (h === undefined) return undefined
    let found: pb.KeyValue | undefined
    for (const r of h.revs) {
      if (r.rev > at) break
      found = r.kv
    }
    return found
  }

  private keysIn(key: Uint8Array, end: Uint8Array | undefined, at: bigint): pb.KeyValue[] {
    const out: pb.KeyValue[] = []
    const all = end !== undefined && end.length === 1 && end[0] === 0
    const single = end === undefined || end.length === 0
    for (const [k, h] of this.history) {
      if (single) {
        if (cmpBytes(h.key, key) !== 0) continue
      } else if (cmpBytes(h.key, key) < 0 || (!all && cmpBytes(h.key, end!) >= 0)) continue
      const kv = this.kvAt(k, at)
      if (kv !== undefined) out.push(kv)
    }
    return out.sort((a, b) => cmpBytes(a.key!, b.key!))
  }

  private readRange(r: pb.RangeRequest, current: bigint = this.rev): pb.RangeResponse {
    const at = r.revision !== undefined && r.revision > 0n ? r.revision : current
    if (at > current) throw EtcdErrors.futureRev()
    if (at < this.compactRev) throw EtcdErrors.compacted()
    let kvs = this.keysIn(r.key!, r.rangeEnd, at).filter(
      (kv) =>
        (!r.minModRevision || kv.modRevision! >= r.minModRevision) &&
        (!r.maxModRevision || kv.modRevision! <= r.maxModRevision) &&
        (!r.minCreateRevision || kv.createRevision! >= r.minCreateRevision) &&
        (!r.maxCreateRevision || kv.createRevision! <= r.maxCreateRevision),
    )
    const order = r.sortOrder ?? 0
    const target = r.sortTarget ?? 0
    if (order !== 0 || target !== 0) {
      const field = (kv: pb.KeyValue): bigint | Uint8Array =>
        [kv.key!, kv.version!, kv.createRevision!, kv.modRevision!, kv.value!][target]!
      kvs.sort((a, b) => {
        const x = field(a)
        const y = field(b)
        const c =
          typeof x === "bigint"
            ? x < (y as bigint)
              ? -1
              : x > (y as bigint)
                ? 1
                : 0
            : cmpBytes(x, y as Uint8Array)
        return order === 2 ? -c : c
      })
    }
    const count = BigInt(kvs.length)
    const limit = r.limit !== undefined && r.limit > 0n ? Number(r.limit) : kvs.length
    const more = kvs.length > limit
    kvs = kvs.slice(0, limit)
    if (r.countOnly) kvs = []
    if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }))
    return { header: { revision: this.rev }, kvs, more, count }
  }

  async range(r: pb.RangeRequest): Promise<pb.RangeResponse> {
    if (!r.serializable) this.requireLeader()
    return this.readRange(r)
  }

  private write(key: Uint8Array, kv: pb.KeyValue | undefined, rev: bigint): void {
    const prev = this.kvAt(hex(key), rev - 1n)
    this.eventLog.push({
      rev,
      event: {
        type: kv === undefined ? pb.Event_EventType.DELETE : pb.Event_EventType.PUT,
        kv: kv ?? { key, modRevision: rev },
        prevKv: prev,
      },
    })
    const k = hex(key)
    const h = this.history.get(k) ?? { key, revs: [] }
    h.revs.push({ rev, kv })
    this.history.set(k, h)
  }

  private applyPut(r: pb.PutRequest, w: WriteView): pb.PutResponse {
    if (!r.ignoreLease && r.lease && !this.leaseTable.has(r.lease)) throw EtcdErrors.leaseNotFound()
    const rev = w.begin + 1n
    const prev = this.kvAt(hex(r.key!), viewRev(w))
    if ((r.ignoreValue || r.ignoreLease) && prev === undefined) throw EtcdErrors.keyNotFound()
    const kv: pb.KeyValue = {
      key: r.key,
      createRevision: prev?.createRevision ?? rev,
      modRevision: rev,
      version: (prev?.version ?? 0n) + 1n,
      value: r.ignoreValue ? prev!.value : r.value,
      lease: r.ignoreLease ? prev!.lease : r.lease,
    }
    this.write(r.key!, kv, rev)
    w.changed = true
    return { header: { revision: rev }, prevKv: r.prevKv ? prev : undefined }
  }

  private applyDelete(r: pb.DeleteRangeRequest, w: WriteView): pb.DeleteRangeResponse {
    const victims = this.keysIn(r.key!, r.rangeEnd, viewRev(w))
    for (const kv of victims) this.write(kv.key!, undefined, w.begin + 1n)
    if (victims.length > 0) w.changed = true
    return {
      header: { revision: viewRev(w) },
      deleted: BigInt(victims.length),
      prevKvs: r.prevKv ? victims : [],
    }
  }

  /** Runs one write transaction; the revision moves only if something changed, as in etcd. */
  private writeTxn<A>(f: (w: WriteView) => A): A {
    this.requireLeader()
    const w: WriteView = { begin: this.rev, changed: false }
    const res = f(w)
    this.rev = viewRev(w)
    if (w.changed) for (const l of [...this.listeners]) this.deliver(l, this.rev, this.rev)
    return res
  }

  // --- watches: a log of every event, replayed from the start revision, then live ---

  private readonly eventLog: { rev: bigint; event: pb.Event }[] = []
  private readonly listeners = new Set<{ spec: WatchSpec; sink: WatchSink }>()

  private matches(spec: WatchSpec, key: Uint8Array): boolean {
    if (spec.rangeEnd === undefined) return cmpBytes(key, spec.key) === 0
    if (cmpBytes(key, spec.key) < 0) return false
    return spec.rangeEnd.length === 0 || cmpBytes(key, spec.rangeEnd) < 0
  }

  private deliver(l: { spec: WatchSpec; sink: WatchSink }, from: bigint, to: bigint): void {
    const byRev = new Map<bigint, pb.Event[]>()
    for (const { rev, event } of this.eventLog) {
      if (rev < from || rev > to || !this.matches(l.spec, event.kv!.key!)) continue
      const isCreate = event.type === pb.Event_EventType.PUT && event.kv!.version === 1n
      // Like etcd, no prev_kv when the revision before the event is already compacted.
      const prevReadable = rev - 1n >= this.compactRev
      const e = { ...event, prevKv: l.spec.prevKv && !isCreate && prevReadable ? event.prevKv : undefined }
      byRev.set(rev, [...(byRev.get(rev) ?? []), e])
    }
    if (from === to) {
      for (const [rev, events] of byRev) l.sink.events(rev, events)
    } else if (byRev.size > 0) {
      // Catch-up: like etcd, one response with every past event, at the current revision.
      l.sink.events(to, [...byRev.values()].flat())
    }
  }

  /** Registered live watchers (to check that cancelled streams release theirs). */
  get watcherCount(): number {
    return this.listeners.size
  }

  readonly watches: EtcdWatchBackend = {
    watch: (spec, sink) => {
      const l = { spec, sink }
      if (spec.startRevision < this.compactRev) {
        sink.compacted(this.compactRev)
        return { cancel: () => {} }
      }
      this.deliver(l, spec.startRevision, this.rev)
      this.listeners.add(l)
      return { cancel: () => this.listeners.delete(l) }
    },
  }

  async put(r: pb.PutRequest): Promise<pb.PutResponse> {
    return this.writeTxn((w) => this.applyPut(r, w))
  }

  async deleteRange(r: pb.DeleteRangeRequest): Promise<pb.DeleteRangeResponse> {
    return this.writeTxn((w) => this.applyDelete(r, w))
  }

  private compare(c: pb.Compare, at: bigint): boolean {
    const kvs = this.keysIn(c.key!, c.rangeEnd, at)
    const check = (kv: pb.KeyValue | undefined): boolean => {
      let x: bigint | Uint8Array
      let y: bigint | Uint8Array
      switch (c.target ?? 0) {
        case pb.Compare_CompareTarget.VERSION:
          x = kv?.version ?? 0n
          y = c.version ?? 0n
          break
        case pb.Compare_CompareTarget.CREATE:
          x = kv?.createRevision ?? 0n
          y = c.createRevision ?? 0n
          break
        case pb.Compare_CompareTarget.MOD:
          x = kv?.modRevision ?? 0n
          y = c.modRevision ?? 0n
          break
        case pb.Compare_CompareTarget.LEASE:
          x = kv?.lease ?? 0n
          y = c.lease ?? 0n
          break
        default:
          if (kv === undefined) return false
          x = kv.value ?? new Uint8Array(0)
          y = c.value ?? new Uint8Array(0)
      }
      const d =
        typeof x === "bigint"
          ? x < (y as bigint)
            ? -1
            : x > (y as bigint)
              ? 1
              : 0
          : cmpBytes(x, y as Uint8Array)
      switch (c.result ?? 0) {
        case pb.Compare_CompareResult.EQUAL:
          return d === 0
        case pb.Compare_CompareResult.GREATER:
          return d > 0
        case pb.Compare_CompareResult.LESS:
          return d < 0
        default:
          return d !== 0
      }
    }
    return kvs.length === 0 ? check(undefined) : kvs.every(check)
  }

  private applyTxn(r: pb.TxnRequest, w: WriteView): pb.TxnResponse {
    const succeeded = (r.compare ?? []).every((c) => this.compare(c, viewRev(w)))
    const ops = succeeded ? (r.success ?? []) : (r.failure ?? [])
    const responses: pb.ResponseOp[] = []
    for (const op of ops) {
      if (op.requestRange) {
        const res = this.readRange(op.requestRange, viewRev(w))
        responses.push({ responseRange: { ...res, header: { revision: viewRev(w) } } })
      } else if (op.requestPut) responses.push({ responsePut: this.applyPut(op.requestPut, w) })
      else if (op.requestDeleteRange)
        responses.push({ responseDeleteRange: this.applyDelete(op.requestDeleteRange, w) })
      else if (op.requestTxn) responses.push({ responseTxn: this.applyTxn(op.requestTxn, w) })
    }
    return { header: { revision: viewRev(w) }, succeeded, responses }
  }

  async txn(r: pb.TxnRequest): Promise<pb.TxnResponse> {
    return this.writeTxn((w) => this.applyTxn(r, w))
  }

  async compact(r: pb.CompactionRequest): Promise<pb.CompactionResponse> {
    this.requireLeader()
    const at = r.revision ?? 0n
    if (at <= this.compactRev) throw EtcdErrors.compacted()
    if (at > this.rev) throw EtcdErrors.futureRev()
    this.compactRev = at
    return { header: { revision: this.rev } }
  }

  /** Leases without expiry: the remaining TTL stays at the granted one (no clock in tests). */
  private readonly leaseTable = new Map<bigint, bigint>()
  private nextLease = 0x694d_77aa_9e38_2600n

  private attachedKeys(id: bigint): Uint8Array[] {
    return this.keysIn(new Uint8Array([0]), new Uint8Array([0]), this.rev)
      .filter((kv) => kv.lease === id)
      .map((kv) => kv.key!)
  }

  readonly leases: EtcdLeaseBackend = {
    grant: async (ttl, id) => {
      this.requireLeader()
      const lease = id === 0n ? this.nextLease++ : id
      if (this.leaseTable.has(lease)) throw EtcdErrors.leaseExist()
      this.leaseTable.set(lease, ttl)
      return { id: lease, ttl }
    },
    revoke: async (id) => {
      if (!this.leaseTable.has(id)) throw EtcdErrors.leaseNotFound()
      const keys = this.attachedKeys(id)
      this.writeTxn((w) => {
        for (const key of keys) this.applyDelete({ key }, w)
      })
      this.leaseTable.delete(id)
      return { revision: this.rev }
    },
    renew: async (id) => {
      this.requireLeader()
      const ttl = this.leaseTable.get(id)
      if (ttl === undefined) throw EtcdErrors.leaseNotFound()
      return ttl
    },
    timeToLive: async (id, keys) => {
      const ttl = this.leaseTable.get(id)
      if (ttl === undefined) throw EtcdErrors.leaseNotFound()
      return { ttl, grantedTTL: ttl, keys: keys ? this.attachedKeys(id) : [] }
    },
    list: async () => [...this.leaseTable.keys()],
  }

  async members(): Promise<readonly pb.Member[]> {
    return [this.member]
  }

  async status(): Promise<pb.StatusResponse> {
    return {
      version: "3.4.0",
      dbSize: 4096n,
      dbSizeInUse: 4096n,
      leader: this.leader,
      raftIndex: this.rev + 3n,
      raftTerm: this.term,
      raftAppliedIndex: this.rev + 3n,
    }
  }

  private hashAll(upTo: bigint): number {
    const h = createHash("sha256")
    for (const [k, e] of [...this.history].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const r of e.revs) if (r.rev <= upTo) h.update(`${k}:${r.rev}:${r.kv ? hex(r.kv.value!) : "-"};`)
    }
    return h.digest().readUInt32BE(0)
  }

  async hash(): Promise<{ hash: number; revision: bigint }> {
    return { hash: this.hashAll(this.rev), revision: this.rev }
  }

  async hashKV(revision: bigint): Promise<{ hash: number; revision: bigint; compactRevision: bigint }> {
    const at = revision > 0n ? revision : this.rev
    if (at < this.compactRev) throw EtcdErrors.compacted()
    if (at > this.rev) throw EtcdErrors.futureRev()
    return { hash: this.hashAll(at), revision: this.rev, compactRevision: this.compactRev }
  }

  async moveLeader(targetId: bigint): Promise<void> {
    if (this.leader !== this.memberId) throw EtcdErrors.notLeader()
    if (targetId !== this.memberId) throw EtcdErrors.badLeaderTransferee()
  }

  /** A JSON dump of the current state, zero-padded to a multiple of 512 bytes. */
  snapshotBytes(): Uint8Array {
    const state = [...this.history.values()].map((h) => ({ key: hex(h.key), revs: h.revs.length }))
    const text = Buffer.from(JSON.stringify({ rev: String(this.rev), state }))
    const out = new Uint8Array(Math.max(512, Math.ceil(text.length / 512) * 512) + 64 * 1024)
    out.set(text)
    return out
  }

  async snapshot(): Promise<SnapshotStream> {
    const bytes = this.snapshotBytes()
    return {
      size: bytes.length,
      chunks: (async function* () {
        // Odd piece sizes exercise the adapter's re-chunking into 32 KiB messages.
        for (let off = 0; off < bytes.length; off += 10_000) yield bytes.subarray(off, off + 10_000)
      })(),
    }
  }
}
