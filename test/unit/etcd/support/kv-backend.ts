/**
 * TEST ONLY: an EtcdBackend over the real KvStateMachine on a real SQLite file, applying each
 * write as the next "committed" entry directly (no Raft). It is what the node will do after
 * consensus, minus replication; the adapter tests run etcdctl against it.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type KvCommand, KvError } from "../../../../schemas/kv.ts"
import type { EtcdBackend, MemberIdentity, SnapshotStream } from "../../../../src/adapters/etcd/backend.ts"
import { EtcdErrors } from "../../../../src/adapters/etcd/errors.ts"
import * as map from "../../../../src/adapters/etcd/kv-mapping.ts"
import type * as pb from "../../../../src/adapters/etcd/proto/etcd.gen.ts"
import { KvStateMachine } from "../../../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../../../src/storage/bun-sqlite.ts"
import type { SqliteDatabase } from "../../../../src/storage/driver.ts"
import type { MemoryBackendOptions } from "./memory-backend.ts"

export class KvEtcdBackend implements EtcdBackend {
  readonly clusterId: bigint
  readonly memberId: bigint
  leader: bigint
  readonly term = 2n
  private readonly member: pb.Member
  private readonly dir: string
  private readonly db: SqliteDatabase
  readonly sm: KvStateMachine

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
    this.dir = mkdtempSync(join(tmpdir(), "lattice-etcd-kv-"))
    this.db = bunSqliteDriver.open(join(this.dir, "kv.db"), { synchronous: "FULL" })
    this.sm = KvStateMachine.open(this.db, { group: 1 })
    // etcd starts at revision 1; so does the state machine once it has applied anything.
  }

  close(): void {
    this.db.close()
    rmSync(this.dir, { recursive: true, force: true })
  }

  identity(): MemberIdentity {
    return {
      clusterId: this.clusterId,
      memberId: this.memberId,
      raftTerm: this.term,
      revision: BigInt(Math.max(1, this.sm.revision)),
    }
  }

  private requireLeader(): void {
    if (this.leader === 0n) throw EtcdErrors.noLeader()
  }

  private apply(command: KvCommand) {
    this.requireLeader()
    return this.sm.apply(this.sm.appliedIndex + 1, command).outcome
  }

  async range(r: pb.RangeRequest): Promise<pb.RangeResponse> {
    if (!r.serializable) this.requireLeader()
    const res = this.sm.range(map.toKvRange(r))
    if (res instanceof KvError) throw map.kvErrorToEtcd(res)
    return map.fromKvRange(res)
  }

  async put(r: pb.PutRequest): Promise<pb.PutResponse> {
    return map.fromKvPut(map.unwrapOutcome(this.apply({ type: "put", request: map.toKvPut(r) }), "put"))
  }

  async deleteRange(r: pb.DeleteRangeRequest): Promise<pb.DeleteRangeResponse> {
    const out = this.apply({ type: "deleteRange", request: map.toKvDelete(r) })
    return map.fromKvDelete(map.unwrapOutcome(out, "deleteRange"))
  }

  async txn(r: pb.TxnRequest): Promise<pb.TxnResponse> {
    return map.fromKvTxn(map.unwrapOutcome(this.apply({ type: "txn", request: map.toKvTxn(r) }), "txn"))
  }

  async compact(r: pb.CompactionRequest): Promise<pb.CompactionResponse> {
    const out = this.apply({ type: "compact", request: map.toKvCompaction(r) })
    const res = map.fromKvCompaction(map.unwrapOutcome(out, "compact"))
    if (r.physical) while (!this.sm.compactStep()) {}
    return res
  }

  async members(): Promise<readonly pb.Member[]> {
    return [this.member]
  }

  async status(): Promise<pb.StatusResponse> {
    const size = BigInt(statSync(join(this.dir, "kv.db")).size)
    return {
      version: "3.4.0",
      dbSize: size,
      dbSizeInUse: size,
      leader: this.leader,
      raftIndex: BigInt(this.sm.appliedIndex),
      raftTerm: this.term,
      raftAppliedIndex: BigInt(this.sm.appliedIndex),
    }
  }

  async hash(): Promise<{ hash: number; revision: bigint }> {
    return { hash: this.sm.hash(), revision: BigInt(this.sm.revision) }
  }

  async hashKV(revision: bigint): Promise<{ hash: number; revision: bigint; compactRevision: bigint }> {
    const res = this.sm.hashKV(map.toNumber(revision))
    if (res instanceof KvError) throw map.kvErrorToEtcd(res)
    return {
      hash: res.hash,
      revision: BigInt(res.header.revision),
      compactRevision: BigInt(res.compactRevision),
    }
  }

  async moveLeader(targetId: bigint): Promise<void> {
    if (this.leader !== this.memberId) throw EtcdErrors.notLeader()
    if (targetId !== this.memberId) throw EtcdErrors.badLeaderTransferee()
  }

  /** The state machine's snapshot chunks, each prefixed with its u32 length so the stream splits again. */
  snapshotBytes(): Uint8Array {
    const parts: Uint8Array[] = []
    for (const chunk of this.sm.snapshot()) {
      const len = new Uint8Array(4)
      new DataView(len.buffer).setUint32(0, chunk.length)
      parts.push(len, chunk)
    }
    return new Uint8Array(Buffer.concat(parts))
  }

  async snapshot(): Promise<SnapshotStream> {
    const bytes = this.snapshotBytes()
    return {
      size: bytes.length,
      chunks: (async function* () {
        yield bytes
      })(),
    }
  }
}
