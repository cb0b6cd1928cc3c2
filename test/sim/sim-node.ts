/**
 * One simulated replica: the pure core plus the caller's loop around it (persist, then send,
 * then apply), a durable log image that survives crashes, a live image that mirrors the core,
 * and the register state machine. Clients' requests are served here (propose / ReadIndex).
 */
import type { ConfChange, ConfState, NodeId } from "../../schemas/raft.ts"
import { followCommitted, type LeaderClock, nextTick } from "../../src/kv/lease/leader-clock.ts"
import type { Input, RaftConfig, Ready, SoftState } from "../../src/raft/api.ts"
import { initRaft, step } from "../../src/raft/index.ts"
import type { Message } from "../../src/raft/messages.ts"
import type { KvInput, KvOutput } from "../support/linearizability-kv.ts"
import { applyChange, decodeConf } from "./conf-tracker.ts"
import { type InvariantChecker, Violation } from "./invariants.ts"
import type { LeaseInput } from "./lease-clients.ts"
import type { LeaseOracle } from "./lease-oracle.ts"
import { ContractError, LogImage } from "./log-image.ts"
import {
  type ApplyResult,
  encodeCommand,
  type LeaseBug,
  type MachineCommand,
  type RegisterEvent,
  RegisterMachine,
} from "./register-machine.ts"

type RaftState = ReturnType<typeof initRaft>

export interface ClientRequest {
  readonly reqId: number
  readonly client: number
  readonly input: KvInput | LeaseInput
  readonly clientOpId: string
}

export type NodeResponse =
  | { readonly kind: "ok"; readonly output: KvOutput | ApplyResult }
  /** Definitely not applied (rejected, or the entry lost its slot): the client may retry. */
  | { readonly kind: "retry"; readonly leader: NodeId | null; readonly reason: string }

export interface NodeWatchListener {
  /** The node applied one revision (a lease's deletions are several events). */
  applied(node: SimNode, events: readonly RegisterEvent[]): void
  /** The node's state machine was replaced (a snapshot install). */
  restored(node: SimNode): void
  /** The node crashed: its watch streams are gone. */
  down(node: SimNode): void
}

export interface NodeHost {
  readonly checker: InvariantChecker
  send(message: Message): void
  reply(request: ClientRequest, response: NodeResponse): void
  /** 0: persist every Ready at once; otherwise the delay before the next flush. */
  persistDelay(node: SimNode): number
  schedulePersist(node: SimNode, delay: number): void
  onConfApplied(node: SimNode, change: ConfChange, index: number): void
  trace(line: string): void
  readonly snapshotEvery: number
  readonly keepEntries: number
  /** Use the contract's one allowed optimization: leader replication messages go out before persist. */
  readonly leaderSendsEarly: boolean
  readonly stats: { snapshots: number; snapshotInstalls: number }
  /** Hears what watch clients attached to a node see (watch-clients.ts). */
  readonly watches?: NodeWatchListener
  /** The cluster's change history, shared by every replica's state machine. */
  readonly changeLog?: RegisterEvent[][]
  /**
   * Leases are on: the leader proposes tick entries (src/kv/lease/leader-clock.ts, as the
   * LeaseKeeper does) and every applied entry is reported to the lease checks.
   */
  readonly leases?: LeaseOracle
  /** TEST ONLY: broken lease handling, to prove the lease checks fail. */
  readonly leaseBug?: LeaseBug | undefined
  /** Virtual time (tick entries carry their proposal time, for the clock checks). */
  readonly now: number
  /**
   * The state machine is durable (applied in the same transaction as the log, as the SQLite KV
   * does): it survives a crash and the core is restarted with `applied`, instead of replaying.
   */
  readonly durableMachine: boolean
  /** Client writes arriving within a few ms are proposed together with `proposeBatch`. */
  readonly batchProposals: boolean
  schedule(delay: number, run: () => void): void
  /** TEST ONLY: break the caller's side of the contract to prove the end-to-end checks fail. */
  readonly callerBug: CallerBug | undefined
}

const isLeaderReplication = (m: Message, self: NodeId): boolean =>
  m.from === self && (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot")

const maxFlushRounds = 1000

/** The leader's tick interval on its own clock while leases exist, and while there are none. */
const leaseTickMs = 30
const idleLeaseTickMs = 200

/** TEST ONLY: deliberately broken caller behaviour, to prove the end-to-end checks can fail. */
export type CallerBug = "staleReads" | "forgetVote"

const isEmpty = (r: Ready): boolean =>
  r.hardState === null &&
  r.truncateFrom === null &&
  r.entries.length === 0 &&
  r.snapshot === null &&
  r.compactTo === null &&
  r.messages.length === 0 &&
  r.committedEntries.length === 0 &&
  r.readStates.length === 0 &&
  r.proposals.length === 0

const contract = <A>(node: NodeId, what: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (e instanceof ContractError) throw new Violation("readyContract", `${node} ${what}: ${e.message}`)
    throw e
  }
}

export class SimNode {
  alive = false
  removed = false
  /** Bumped on every crash so stale scheduled events (ticks, flushes) are ignored. */
  incarnation = 0
  persistScheduled = false
  soft: SoftState = { role: "follower", leader: null, term: 0 }

  private raft: RaftState | null = null
  readonly durable: LogImage
  live: LogImage
  /** Handed out but not yet durable, with the messages still held back. */
  private pending: { ready: Ready; messages: readonly Message[] }[] = []
  private flushing = false
  private machine: RegisterMachine
  private conf: ConfState
  private lastSnapshotIndex = 0

  private nextHandle = 1
  private readonly proposals = new Map<number, ClientRequest>()
  private readonly appended = new Map<number, { request: ClientRequest; term: number }>()
  private readonly reads = new Map<number, ClientRequest>()
  private waitingReads: { index: number; request: ClientRequest }[] = []
  readonly confProposals = new Set<number>()
  private batch: { id: number; data: Uint8Array }[] = []
  /** Local ticks in this life: the node's monotonic clock is `localTicks × 10` ms. */
  private localTicks = 0
  private leaderClock: LeaderClock | null = null
  private lastLeaseTickAt = Number.NEGATIVE_INFINITY
  /** The tick entry in flight: its proposal handle, then its log index once appended. */
  private tickInFlight: { handle: number; index: number | null } | null = null

  constructor(
    readonly id: NodeId,
    private readonly config: RaftConfig,
    bootstrapConf: ConfState,
    private readonly host: NodeHost,
    /** Virtual ms between this node's ticks (clock skew scales it). */
    readonly tickInterval: number,
  ) {
    this.durable = new LogImage(bootstrapConf)
    this.live = this.durable.reloaded()
    this.conf = bootstrapConf
    this.machine = new RegisterMachine(host.changeLog, host.leaseBug)
  }

  get role(): SoftState["role"] {
    return this.soft.role
  }

  get appliedIndex(): number {
    return this.machine.appliedIndex
  }

  /** The state machine's revision and its history, for watch clients. */
  get revision(): number {
    return this.machine.revision
  }
  historyFrom(from: number): readonly RegisterEvent[] {
    return this.machine.historyFrom(from)
  }

  get commitIndex(): number {
    return this.live.hardState.commit
  }

  /** Boot (or reboot) from durable storage only. */
  start(seed: number): void {
    const snap = this.durable.snapshot
    if (!this.host.durableMachine || this.incarnation === 0) {
      // A volatile state machine restarts from the durable snapshot; the core re-hands the rest.
      this.machine = new RegisterMachine(this.host.changeLog, this.host.leaseBug)
      if (snap) this.machine.restore(snap.data, snap.meta.index)
      this.conf = snap ? snap.meta.conf : this.durable.bootstrapConf
      this.lastSnapshotIndex = snap?.meta.index ?? 0
    }
    const stored = this.durable.toPersisted()
    // TEST ONLY (callerBug "forgetVote"): storage that loses the vote across a restart.
    const hardState =
      this.host.callerBug === "forgetVote" ? { ...stored.hardState, vote: null } : stored.hardState
    const persisted = { ...stored, hardState, applied: this.machine.appliedIndex }
    this.raft = initRaft({ ...this.config, seed }, persisted)
    this.live = this.durable.reloaded()
    this.soft = { role: "follower", leader: null, term: persisted.hardState.term }
    this.localTicks = 0
    this.lastLeaseTickAt = Number.NEGATIVE_INFINITY
    this.alive = true
    this.host.checker.onDurableCommit(this.id, persisted.hardState.commit)
  }

  /** Lose everything not durable: the core's memory, unpersisted Readies and their messages. */
  crash(): void {
    this.alive = false
    this.incarnation++
    this.host.watches?.down(this)
    this.raft = null
    this.pending = []
    this.persistScheduled = false
    this.flushing = false
    this.proposals.clear()
    this.appended.clear()
    this.reads.clear()
    this.waitingReads = []
    this.confProposals.clear()
    this.batch = []
    this.leaderClock = null
    this.tickInFlight = null
    this.soft = { role: "follower", leader: null, term: this.soft.term }
  }

  tick(): void {
    this.localTicks++
    this.stepIn({ type: "tick" })
    if (this.host.leases) this.leaseTick()
  }

  /** The LeaseKeeper's tick round: only the leader proposes the committed clock, one at a time. */
  private leaseTick(): void {
    if (!this.alive || this.soft.role !== "leader") {
      this.leaderClock = null
      return
    }
    const now = this.localTicks * 10
    const committed = { ms: this.machine.clockMs, tick: this.machine.tick }
    this.leaderClock = followCommitted(this.leaderClock, this.soft.term, committed, now)
    // TEST ONLY (leaseBug "clockFromUptime"): the clock restarts from this node's own uptime.
    if (this.host.leaseBug === "clockFromUptime")
      this.leaderClock = { ...this.leaderClock, base: 0, since: 0 }
    if (this.tickInFlight !== null) return
    const interval = this.machine.leaseCount > 0 ? leaseTickMs : idleLeaseTickMs
    if (now - this.lastLeaseTickAt < interval) return
    this.lastLeaseTickAt = now
    const [clock, tick] = nextTick(this.leaderClock, committed, now)
    this.leaderClock = clock
    const handle = this.nextHandle++
    this.tickInFlight = { handle, index: null }
    const data = encodeCommand({ op: "tick", ...tick, proposedAt: this.host.now, clientOpId: "" })
    this.stepIn({ type: "propose", id: handle, data })
  }

  receive(message: Message): void {
    this.stepIn({ type: "message", message })
  }

  campaign(): void {
    this.stepIn({ type: "campaign" })
  }

  transferLeader(to: NodeId): void {
    this.stepIn({ type: "transferLeader", to })
  }

  proposeConfChange(change: ConfChange): void {
    const id = this.nextHandle++
    this.confProposals.add(id)
    this.stepIn({ type: "confChange", id, change })
  }

  request(request: ClientRequest): void {
    const id = this.nextHandle++
    if (request.input.op === "read") {
      this.reads.set(id, request)
      this.stepIn({ type: "readIndex", id })
      return
    }
    const input = request.input
    this.proposals.set(id, request)
    const command: MachineCommand =
      input.op === "write" || input.op === "cas"
        ? {
            op: input.op,
            key: input.key,
            value: input.value,
            expected: input.op === "cas" ? input.expected : null,
            clientOpId: request.clientOpId,
          }
        : { ...input, clientOpId: request.clientOpId }
    const data = encodeCommand(command)
    if (!this.host.batchProposals) {
      this.stepIn({ type: "propose", id, data })
      return
    }
    this.batch.push({ id, data })
    if (this.batch.length === 1) {
      const incarnation = this.incarnation
      this.host.schedule(2, () => {
        if (this.incarnation !== incarnation || this.batch.length === 0) return
        const proposals = this.batch
        this.batch = []
        this.stepIn({ type: "proposeBatch", proposals })
      })
    }
  }

  private stepIn(input: Input): void {
    if (!this.alive || this.raft === null) return
    const [next, ready] = step(this.raft, input)
    this.raft = next
    this.observe(ready)
    if (isEmpty(ready)) return
    let messages = ready.messages
    if (this.host.leaderSendsEarly && this.soft.role === "leader" && messages.length > 0) {
      // Raft thesis §10.2.1: a leader may send its appends before its own write is durable.
      messages = messages.filter((m) => {
        if (!isLeaderReplication(m, this.id)) return true
        this.host.send(m)
        return false
      })
    }
    this.pending.push({ ready, messages })
    if (this.flushing) return
    const delay = this.host.persistDelay(this)
    if (delay === 0) this.flush()
    else if (!this.persistScheduled) {
      this.persistScheduled = true
      this.host.schedulePersist(this, delay)
    }
  }

  /** Mirror the Ready into the live image and check the safety properties it touches. */
  private observe(ready: Ready): void {
    const checker = this.host.checker
    const prevCommit = this.live.hardState.commit
    if (ready.truncateFrom !== null) checker.onTruncate(this.id, ready.truncateFrom, prevCommit)
    contract(this.id, "live log", () => this.live.applyReady(ready))
    if (ready.entries.length > 0) checker.onAppend(this.id, this.live, ready.entries)
    if (ready.softState) {
      const before = this.soft
      this.soft = ready.softState
      if (before.role !== this.soft.role || before.term !== this.soft.term)
        this.host.trace(`${this.id} ${this.soft.role} term ${this.soft.term} (last ${this.live.lastIndex})`)
      if (this.soft.role === "leader") checker.onLeader(this.id, this.soft.term, this.live)
      else {
        this.leaderClock = null
        this.tickInFlight = null
      }
    }
    if (ready.hardState) {
      const commit = ready.hardState.commit
      checker.onCommitIndex(this.id, prevCommit, commit)
      if (this.soft.role === "leader" && commit > prevCommit)
        checker.onLeaderCommit(this.id, this.soft.term, prevCommit, commit, this.live)
    }
  }

  /** The caller's loop: make pending Readies durable, send, acknowledge, apply. */
  flush(): void {
    if (!this.alive) return
    this.persistScheduled = false
    this.flushing = true
    try {
      const immediate = this.host.persistDelay(this) === 0
      let rounds = 0
      do {
        // A core that answers every persisted/applied with new work never quiesces: report it
        // instead of spinning forever.
        if (++rounds > maxFlushRounds)
          throw new Violation(
            "readyContract",
            `${this.id} keeps producing Readies after ${maxFlushRounds} flushes`,
          )
        const batch = this.pending
        this.pending = []
        this.processBatch(batch)
        if (!this.alive) return
      } while (immediate && this.pending.length > 0)
    } finally {
      this.flushing = false
    }
    if (this.pending.length > 0 && !this.persistScheduled) {
      this.persistScheduled = true
      this.host.schedulePersist(this, this.host.persistDelay(this) || 1)
    }
  }

  private processBatch(items: readonly { ready: Ready; messages: readonly Message[] }[]): void {
    let durableChanged = false
    const batch = items.map((i) => i.ready)
    for (const r of batch) {
      contract(this.id, "durable log", () => this.durable.applyReady(r))
      durableChanged ||= r.hardState !== null || r.entries.length > 0 || r.snapshot !== null
    }
    this.host.checker.onDurableCommit(this.id, this.durable.hardState.commit)
    for (const item of items) for (const m of item.messages) this.host.send(m)
    if (durableChanged)
      this.stepIn({ type: "persisted", index: this.durable.lastIndex, term: this.durable.lastTerm })
    const appliedBefore = this.machine.appliedIndex
    for (const r of batch) {
      for (const p of r.proposals) this.onProposal(p)
      if (r.snapshot) this.installSnapshot(r.snapshot)
      for (const e of r.committedEntries) this.apply(e)
      for (const rs of r.readStates) this.onReadState(rs)
    }
    this.serveWaitingReads()
    if (this.machine.appliedIndex !== appliedBefore) {
      this.stepIn({ type: "applied", index: this.machine.appliedIndex })
      this.maybeSnapshot()
    }
  }

  private onProposal(p: Ready["proposals"][number]): void {
    if (this.tickInFlight?.handle === p.id) {
      if (p.kind === "appended") this.tickInFlight.index = p.index
      else this.tickInFlight = null
      return
    }
    const request = this.proposals.get(p.id)
    if (request === undefined) return
    this.proposals.delete(p.id)
    if (p.kind === "appended") this.appended.set(p.index, { request, term: p.term })
    else this.host.reply(request, { kind: "retry", leader: p.leader, reason: p.reason })
  }

  private onReadState(rs: Ready["readStates"][number]): void {
    const request = this.reads.get(rs.id)
    if (request === undefined) return
    this.reads.delete(rs.id)
    if (rs.kind === "failed")
      this.host.reply(request, { kind: "retry", leader: rs.leader, reason: rs.reason })
    // TEST ONLY (callerBug "staleReads"): answer without waiting for the read index to apply.
    else this.waitingReads.push({ index: this.host.callerBug === "staleReads" ? 0 : rs.index, request })
  }

  private serveWaitingReads(): void {
    if (this.waitingReads.length === 0) return
    const still: typeof this.waitingReads = []
    for (const w of this.waitingReads) {
      if (w.index > this.machine.appliedIndex) still.push(w)
      else
        this.host.reply(w.request, {
          kind: "ok",
          output: { op: "read", value: this.machine.read((w.request.input as KvInput).key) },
        })
    }
    this.waitingReads = still
  }

  private installSnapshot(snapshot: NonNullable<Ready["snapshot"]>): void {
    this.host.checker.onSnapshotInstalled(this.id, snapshot)
    this.machine.restore(snapshot.data, snapshot.meta.index)
    this.host.watches?.restored(this)
    this.conf = snapshot.meta.conf
    this.lastSnapshotIndex = snapshot.meta.index
    this.host.stats.snapshotInstalls++
    this.host.trace(`${this.id} installs snapshot at ${snapshot.meta.index} (term ${snapshot.meta.term})`)
  }

  private apply(entry: Ready["committedEntries"][number]): void {
    if (entry.index !== this.machine.appliedIndex + 1)
      throw new Violation(
        "readyContract",
        `${this.id} is handed committed entry ${entry.index} after applying ${this.machine.appliedIndex}`,
      )
    this.host.checker.onApply(this.id, entry)
    if (this.tickInFlight?.index != null && entry.index >= this.tickInFlight.index) this.tickInFlight = null
    const waiting = this.appended.get(entry.index)
    this.appended.delete(entry.index)
    if (entry.type === "normal") {
      const before = this.machine.revision
      const { cmd, result, lease } = this.machine.applyCommand(entry)
      this.host.leases?.onApply(this.id, entry.index, cmd, result, lease)
      if (this.machine.revision !== before) this.host.watches?.applied(this, this.machine.lastRevision())
      if (waiting) {
        const mine = waiting.term === entry.term && cmd.clientOpId === waiting.request.clientOpId
        this.host.reply(
          waiting.request,
          mine
            ? { kind: "ok", output: result }
            : { kind: "retry", leader: null, reason: "entry lost its slot" },
        )
      }
      return
    }
    this.machine.appliedIndex = entry.index
    if (waiting)
      this.host.reply(waiting.request, { kind: "retry", leader: null, reason: "entry lost its slot" })
    if (entry.type === "conf") {
      const change = decodeConf(entry)
      this.conf = applyChange(this.conf, change)
      this.host.onConfApplied(this, change, entry.index)
    }
  }

  private maybeSnapshot(): void {
    const index = this.machine.appliedIndex
    if (index - this.lastSnapshotIndex < this.host.snapshotEvery) return
    const term = this.live.termAt(index)
    if (term === undefined) return
    const snapshot = { meta: { index, term, conf: this.conf }, data: this.machine.snapshot() }
    this.host.checker.onStateHash(this.id, index, snapshot.data)
    this.durable.saveLocalSnapshot(snapshot)
    this.live.saveLocalSnapshot(snapshot)
    this.lastSnapshotIndex = index
    this.host.stats.snapshots++
    this.stepIn({ type: "snapshotTaken", snapshot, keepEntries: this.host.keepEntries })
  }

  currentConf(): ConfState {
    return this.conf
  }
}
