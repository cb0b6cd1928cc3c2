/**
 * The MVCC key-value state machine of one Raft group, with etcd 3.4's semantics.
 *
 * `apply(index, command)` applies one committed entry in one SQLite transaction that also
 * records the applied index, so a restart resumes exactly after the last applied entry.
 * `applyBatch` applies many entries in one transaction. Reads (`range`) are served from the
 * store at the current or a past revision. Per key, only a bounded cache of newest versions lives in
 * JS memory (see `MvccStore`).
 */
import {
  type CompactionRequest,
  DEFAULT_TENANT,
  type DeleteRangeRequest,
  type HashKVResponse,
  type KeyValue,
  type KvCommand,
  KvError,
  type KvOutcome,
  type KvResponse,
  type PutRequest,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
} from "../../schemas/kv.ts"
import type { SqliteDatabase } from "../storage/driver.ts"
import { decodeCommand, decodeOutcome, encodeOutcome } from "./codec.ts"
import { runCompactionStep } from "./compaction.ts"
import { hashKv, hashState } from "./hash.ts"
import { DEFAULT_IDEMPOTENCY, type IdempotencyPolicy, IdempotencyStore } from "./idempotency.ts"
import { LeaseMachine } from "./lease/apply.ts"
import { LeaseStore } from "./lease/store.ts"
import { type KvMeta, MetaRow } from "./meta.ts"
import { executeRange } from "./range.ts"
import { restoreSnapshot, streamSnapshot } from "./snapshot.ts"
import { MvccStore } from "./store.ts"
import { createKvTables, type KvTables, kvTables } from "./tables.ts"
import { TenantRegistry } from "./tenants.ts"
import { runTxn } from "./txn.ts"
import { checkDelete, checkPut, checkRange, checkTxn, isTxnReadOnly, MAX_TXN_OPS } from "./validate.ts"
import { type KvEvent, WriteTxn } from "./write-txn.ts"

export interface KvStateMachineOptions {
  readonly group: number
  /** Overrides whether a lease id is granted (tests); by default the group's own lease table. */
  readonly leaseExists?: (lease: bigint) => boolean
  readonly idempotency?: IdempotencyPolicy
  readonly maxTxnOps?: number
  /** Keys whose newest version is kept in memory (`[performance] cache_size`); 0 or absent: none. */
  readonly cacheSize?: number
  /**
   * Applies leave their writes in one open transaction until `commitWindow()` (etcd's backend
   * batch interval): one COMMIT, and one write of each page they touched, for many apply
   * batches. Crash-safe because the Raft log is the durable record: a node that dies with a window
   * open reopens at the last committed applied index and applies the rest from its log again.
   * Off (absent): every apply commits at once.
   */
  readonly commitWindows?: boolean
}

export interface ApplyResult {
  readonly outcome: KvOutcome
  /** The changes this entry made, in order (empty for reads, errors and replays). */
  readonly events: readonly KvEvent[]
  /** The store revision after this entry. */
  readonly revision: number
}

export interface CommittedEntry {
  readonly index: number
  readonly command: KvCommand
}

const ok = (response: KvResponse): KvOutcome => ({ ok: true, response })
const fail = (error: KvError): KvOutcome => ({ ok: false, error })

export class KvStateMachine {
  readonly tables: KvTables
  private readonly store: MvccStore
  private readonly metaRow: MetaRow
  private readonly tenants: TenantRegistry
  private readonly idem: IdempotencyStore
  private readonly policy: IdempotencyPolicy
  private readonly leaseExists: (lease: bigint) => boolean
  private readonly maxTxnOps: number
  private readonly leaseMachine: LeaseMachine
  private meta: KvMeta
  /** A snapshot stream holds a read transaction on this connection. */
  private snapshotOpen = false
  private readonly commitWindows: boolean
  /** Applies since the last commit wait in an open transaction (see `commitWindows`). */
  private windowOpen = false
  /** A window SQLite threw away (a failed COMMIT): this state is ahead of the file, so no more applies. */
  private windowLost: Error | null = null

  private constructor(
    readonly db: SqliteDatabase,
    options: KvStateMachineOptions,
  ) {
    this.tables = kvTables(options.group)
    db.transaction(() => createKvTables(db, this.tables))
    this.store = new MvccStore(db, this.tables, options.cacheSize ?? 0)
    this.metaRow = new MetaRow(db, this.tables)
    this.tenants = new TenantRegistry(db, this.tables)
    this.idem = new IdempotencyStore(db, this.tables)
    this.policy = options.idempotency ?? DEFAULT_IDEMPOTENCY
    this.leaseMachine = new LeaseMachine(new LeaseStore(db, this.tables), this.store, this.tenants)
    this.leaseExists =
      options.leaseExists ?? ((lease) => this.leaseMachine.live(lease, this.meta) !== undefined)
    this.maxTxnOps = options.maxTxnOps ?? MAX_TXN_OPS
    this.commitWindows = options.commitWindows ?? false
    this.meta = this.metaRow.read()
  }

  /** Opens (creating if needed) the state machine of `options.group` in `db`. */
  static open(db: SqliteDatabase, options: KvStateMachineOptions): KvStateMachine {
    return new KvStateMachine(db, options)
  }

  get appliedIndex(): number {
    return this.meta.appliedIndex
  }
  get revision(): number {
    return this.meta.revision
  }
  get compactRevision(): number {
    return this.meta.compactRev
  }
  get tick(): number {
    return this.meta.tick
  }
  /** The committed clock (ms): where the last applied tick entry moved it. Lease deadlines use it. */
  get committedMs(): number {
    return this.meta.tickMs
  }

  /** A live lease with its remaining TTL on the committed clock; undefined when absent or expired. */
  lease(id: bigint): { id: bigint; ttlMs: number; remainingMs: number } | undefined {
    const row = this.leaseMachine.live(id, this.meta)
    return row === undefined
      ? undefined
      : { id, ttlMs: row.ttlMs, remainingMs: row.deadlineMs - this.meta.tickMs }
  }

  /** The ids of every lease not yet expired, ascending. */
  leaseIds(): bigint[] {
    const out: bigint[] = []
    for (const row of this.leaseMachine.leases.all()) if (row.deadlineMs > this.meta.tickMs) out.push(row.id)
    return out
  }

  /** How many leases the table holds (expired ones awaiting a tick included). */
  leaseCount(): number {
    return this.leaseMachine.leases.count()
  }

  /** Applies one committed entry (decoded) in its own transaction. */
  apply(index: number, command: KvCommand): ApplyResult {
    return this.applyBatch([{ index, command }])[0]!
  }

  /** Applies one committed entry from its Raft `data` bytes. */
  applyEncoded(index: number, data: Uint8Array): ApplyResult {
    return this.apply(index, decodeCommand(data))
  }

  /** Applies consecutive committed entries in one transaction (one fsync). */
  applyBatch(entries: readonly CommittedEntry[]): ApplyResult[] {
    if (entries.length === 0) return []
    this.checkWritable()
    this.openWindow()
    const saved = { ...this.meta }
    try {
      return this.db.transaction(() => {
        const results = entries.map((e) => this.applyOne(e.index, e.command))
        this.metaRow.write(this.meta)
        return results
      })
    } catch (error) {
      this.meta = saved
      this.afterRollback()
      throw error
    }
  }

  /** Whether applied writes wait in an open transaction for `commitWindow`. */
  get uncommitted(): boolean {
    return this.windowOpen
  }

  /**
   * Commits the applies of the open window, if any. Other connections to the database (the
   * background snapshot reader, the divergence check's hashes) see them only from here on.
   */
  commitWindow(): void {
    if (!this.windowOpen) return
    try {
      this.db.exec("COMMIT")
      this.windowOpen = false
    } catch (error) {
      if (!this.db.inTransaction()) this.loseWindow(error)
      throw error
    }
  }

  /** At shutdown: commits the open window, or drops it if it cannot (the log applies it again). */
  closeWindow(): void {
    try {
      this.commitWindow()
    } catch {
      if (this.db.inTransaction()) this.db.exec("ROLLBACK")
      this.windowOpen = false
    }
  }

  private openWindow(): void {
    if (!this.commitWindows || this.windowOpen) return
    this.db.exec("BEGIN IMMEDIATE")
    this.windowOpen = true
  }

  /** After a failed write: the key index, tenants and meta follow what the file still holds. */
  private afterRollback(): void {
    if (this.windowOpen && !this.db.inTransaction()) {
      // SQLite rolled the whole window back (an I/O error, a full disk), not just this step.
      this.loseWindow(new Error("SQLite rolled back the open commit window"))
      return
    }
    this.tenants.forget()
    this.store.reset()
  }

  private loseWindow(error: unknown): void {
    this.windowOpen = false
    this.windowLost = error instanceof Error ? error : new Error(String(error))
    this.reload()
  }

  /** Records a non-KV entry (noop, membership change) as applied. */
  advance(index: number): void {
    this.checkIndex(index)
    this.checkWritable()
    this.openWindow()
    const saved = { ...this.meta }
    try {
      this.db.transaction(() => {
        this.meta.appliedIndex = index
        this.metaRow.write(this.meta)
      })
    } catch (error) {
      this.meta = saved
      this.afterRollback()
      throw error
    }
  }

  /** A read at the current revision or a past one (serializable: the caller ensures freshness). */
  range(request: RangeRequest, tenant: string = DEFAULT_TENANT): RangeResponse | KvError {
    const bad = checkRange(request)
    if (bad) return bad
    return executeRange(
      this.store,
      this.tenants.lookup(tenant),
      request,
      this.meta.revision,
      this.meta.compactRev,
    )
  }

  /** The newest version of a key at or below `rev` in tenant id `tenant`, tombstones included. */
  versionAt(tenant: number, key: Uint8Array, rev: number): KeyValue | undefined {
    return this.store.latest(tenant, key, rev)
  }

  /** A key's versions (tombstones included) with a revision in [from, to], oldest first, at most `limit` (< 0: all). */
  versionsBetween(tenant: number, key: Uint8Array, from: number, to: number, limit: number): KeyValue[] {
    return this.store.between(tenant, key, from, to, limit)
  }

  /**
   * Removes compacted history in a bounded step (at most `maxKeys` keys); returns true when
   * no compaction work is left. Call it between applies until it returns true.
   */
  compactStep(maxKeys = 256): boolean {
    if (this.meta.compactedThrough >= this.meta.compactRev) return true
    this.checkWritable()
    const saved = { ...this.meta }
    try {
      return this.db.transaction(() => {
        const done = runCompactionStep(this.store, this.meta, maxKeys)
        this.metaRow.write(this.meta)
        return done
      })
    } catch (error) {
      // The key index dropped what the rolled-back step deleted.
      this.meta = saved
      this.afterRollback()
      throw error
    }
  }

  /** Whether history below `revision` is physically gone (what a `physical` compaction waits for). */
  isCompacted(revision: number): boolean {
    return this.meta.compactedThrough >= revision
  }

  /**
   * The live keys whose current version carries `lease`, by tenant: what a lease expiry or
   * revoke deletes (the lease subsystem turns them into a replicated delete).
   */
  keysAttachedTo(lease: bigint): { tenant: string; key: Uint8Array }[] {
    return this.leaseMachine
      .attachedKeys(lease, this.meta.revision)
      .map((k) => ({ tenant: this.tenants.nameOf(k.tenant) ?? "", key: k.key }))
  }

  /** etcd's HashKV: a hash of the MVCC state up to `revision` (0: current). */
  hashKV(revision = 0): HashKVResponse | KvError {
    return hashKv(this.db, this.tables, this.meta, revision)
  }

  /** A hash of the whole replicated state, for comparing replicas at the same applied index. */
  hash(): number {
    return hashState(this.db, this.tables, this.meta)
  }

  /** The whole state as checksummed chunks; drain it before the next apply (see snapshot.ts). */
  snapshot(): Generator<Uint8Array> {
    const self = this
    return (function* () {
      self.commitWindow()
      self.snapshotOpen = true
      try {
        yield* streamSnapshot(self.db, self.tables)
      } finally {
        self.snapshotOpen = false
      }
    })()
  }

  /** Replaces the state with a snapshot; a corrupt one is refused and nothing changes. */
  async restore(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    this.checkWritable()
    this.commitWindow()
    try {
      await restoreSnapshot(this.db, this.tables, source)
    } finally {
      this.reload()
    }
  }

  /** Re-reads everything cached from the database (after a snapshot restore). */
  reload(): void {
    this.store.reset()
    this.meta = this.metaRow.read()
    this.tenants.reload()
  }

  private checkWritable(): void {
    if (this.windowLost !== null)
      throw new Error(
        `applies since the last commit were lost (${this.windowLost.message}): reopen the state machine to apply them again from the Raft log`,
      )
    if (this.snapshotOpen)
      throw new Error("a snapshot stream is open on this connection: drain it before applying")
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.meta.appliedIndex) {
      throw new RangeError(`entry ${index} is at or below the applied index ${this.meta.appliedIndex}`)
    }
  }

  private applyOne(index: number, command: KvCommand): ApplyResult {
    this.checkIndex(index)
    let result: ApplyResult
    const key =
      command.type === "put" || command.type === "deleteRange" || command.type === "txn"
        ? command.idempotency
        : undefined
    const recorded = key === undefined ? undefined : this.idem.get(key)
    if (recorded !== undefined) {
      result = { outcome: decodeOutcome(recorded), events: [], revision: this.meta.revision }
    } else {
      result = this.execute(command)
      if (key !== undefined) {
        this.meta.idemSeq += 1
        this.idem.put(key, this.meta.idemSeq, this.meta.tick, encodeOutcome(result.outcome), this.policy)
      }
    }
    this.meta.appliedIndex = index
    return result
  }

  private execute(command: KvCommand): ApplyResult {
    switch (command.type) {
      case "put":
        return this.put(command.tenant ?? DEFAULT_TENANT, command.request)
      case "deleteRange":
        return this.deleteRange(command.tenant ?? DEFAULT_TENANT, command.request)
      case "txn":
        return this.txn(command.tenant ?? DEFAULT_TENANT, command.request)
      case "compact":
        return this.compact(command.request)
      case "tick":
        return this.applyTick(command.tick, command.ms)
      case "leaseGrant": {
        const response = this.leaseMachine.grant(command.request, this.meta)
        return this.result(
          response instanceof KvError ? fail(response) : ok({ type: "leaseGrant", response }),
        )
      }
      case "leaseRevoke": {
        const events = this.leaseMachine.revoke(command.request.id, this.meta)
        if (events instanceof KvError) return this.result(fail(events))
        const response = { header: { revision: this.meta.revision } }
        return this.result(ok({ type: "leaseRevoke", response }), events)
      }
      case "leaseRenew": {
        const response = this.leaseMachine.renew(command.request.ids, this.meta)
        return this.result(ok({ type: "leaseRenew", response }))
      }
    }
  }

  private result(outcome: KvOutcome, events: readonly KvEvent[] = []): ApplyResult {
    return { outcome, events, revision: this.meta.revision }
  }

  /** Ends a write txn: the revision moves only when something changed. */
  private commit(tx: WriteTxn): void {
    if (tx.changed) this.meta.revision = tx.beginRev + 1
  }

  private put(tenantName: string, p: PutRequest): ApplyResult {
    const bad = checkPut(p)
    if (bad) return this.result(fail(bad))
    if ((p.lease ?? 0n) !== 0n && !this.leaseExists(p.lease ?? 0n))
      return this.result(fail(new KvError("LeaseNotFound")))
    const tx = new WriteTxn(
      this.store,
      this.tenants.ensure(tenantName),
      this.meta.revision,
      this.meta.compactRev,
    )
    if ((p.ignoreValue || p.ignoreLease) && tx.liveKv(p.key) === undefined) {
      return this.result(fail(new KvError("KeyNotFound")))
    }
    const response = tx.put(p)
    this.commit(tx)
    return this.result(ok({ type: "put", response }), tx.events)
  }

  private deleteRange(tenantName: string, d: DeleteRangeRequest): ApplyResult {
    const bad = checkDelete(d)
    if (bad) return this.result(fail(bad))
    const tenant = this.tenants.lookup(tenantName)
    if (tenant === undefined) {
      return this.result(
        ok({
          type: "deleteRange",
          response: { header: { revision: this.meta.revision }, deleted: 0, prevKvs: [] },
        }),
      )
    }
    const tx = new WriteTxn(this.store, tenant, this.meta.revision, this.meta.compactRev)
    const response = tx.deleteRange(d)
    this.commit(tx)
    return this.result(ok({ type: "deleteRange", response }), tx.events)
  }

  private txn(tenantName: string, t: TxnRequest): ApplyResult {
    const bad = checkTxn(t, this.maxTxnOps)
    if (bad) return this.result(fail(bad))
    const readOnly = isTxnReadOnly(t)
    const tenant = readOnly ? this.tenants.lookup(tenantName) : this.tenants.ensure(tenantName)
    const tx = new WriteTxn(this.store, tenant, this.meta.revision, this.meta.compactRev)
    const response = runTxn(tx, t, readOnly, { leaseExists: this.leaseExists })
    if (response instanceof KvError) return this.result(fail(response))
    this.commit(tx)
    return this.result(ok({ type: "txn", response }), tx.events)
  }

  private compact(c: CompactionRequest): ApplyResult {
    if (c.revision <= this.meta.compactRev) return this.result(fail(new KvError("Compacted")))
    if (c.revision > this.meta.revision) return this.result(fail(new KvError("FutureRev")))
    this.meta.compactRev = c.revision
    // Restart the incremental sweep: the new floor subsumes any unfinished one.
    this.meta.cursorTenant = null
    this.meta.cursorKey = null
    return this.result(ok({ type: "compact", response: { header: { revision: this.meta.revision } } }))
  }

  /**
   * Tick and clock only move forward (a deposed leader's late tick changes nothing), then the
   * leases now due expire, a bounded number per tick (the next tick takes the rest).
   */
  private applyTick(tick: number, ms: number): ApplyResult {
    if (tick > this.meta.tick) {
      this.meta.tick = tick
      this.idem.evictOlderThan(tick - this.policy.ttlTicks)
    }
    if (ms > this.meta.tickMs) this.meta.tickMs = ms
    const events = this.leaseMachine.expireDue(this.meta)
    return this.result(ok({ type: "tick", response: { header: { revision: this.meta.revision } } }), events)
  }
}
