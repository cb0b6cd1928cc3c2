/**
 * The deterministic cluster simulation: virtual time, an agenda of events, the simulated nodes,
 * network and clients. One seed drives everything, so a failing seed replays exactly.
 *
 * A run has three phases:
 *  1. faults (the profile's mix) while clients run;
 *  2. heal: every fault is removed and crashed nodes restart; a leader must appear within
 *     `leaderBound` virtual ms (liveness), after which every new client operation must complete;
 *  3. drain: clients stop, and the whole history must be linearizable.
 */
import type { ConfChange, ConfState, NodeId } from "../../schemas/raft.ts"
import type { RaftConfig } from "../../src/raft/api.ts"
import type { Message } from "../../src/raft/messages.ts"
import { checkKvHistory, type KvOperation, type KvOutput } from "../support/linearizability-kv.ts"
import { runChaos } from "./chaos.ts"
import { opDeadline, readAttemptTimeout, SimClient, writeAttemptTimeout } from "./clients.ts"
import { EventQueue } from "./event-queue.ts"
import { InvariantChecker, Violation } from "./invariants.ts"
import { LEASE_CLIENT_BASE, type LeaseClientHost, SimLeaseClients } from "./lease-clients.ts"
import { LeaseOracle } from "./lease-oracle.ts"
import { Network } from "./network.ts"
import { Prng } from "./prng.ts"
import type { Profile } from "./profiles.ts"
import type { LeaseBug, RegisterEvent } from "./register-machine.ts"
import { type Scenario, scenarios } from "./scenarios.ts"
import { type CallerBug, type ClientRequest, type NodeHost, type NodeResponse, SimNode } from "./sim-node.ts"
import { SimWatchClients } from "./watch-clients.ts"

export interface SimOptions {
  readonly seed: number
  readonly profile: Profile
  readonly injectBug?: RaftConfig["injectBug"]
  readonly faultPhaseMs?: number
  readonly clients?: number
  readonly verbose?: boolean
  /** Extra core settings (for targeted scenarios). */
  readonly raft?: Partial<Pick<RaftConfig, "maxEntriesPerAppend" | "maxInflightAppends" | "electionTicks">>
  /** TEST ONLY: a deliberately broken caller loop (reads served before their index applied). */
  readonly callerBug?: CallerBug
  /** Whether leaders send appends before their own Ready is durable (default: drawn from the seed). */
  readonly leaderSendsEarly?: boolean
  /** A scripted fault schedule run instead of (or with) the profile's chaos. */
  readonly script?: (sim: Simulation) => void
  /**
   * Lease and lock clients, with the leader's tick entries and the lease checks
   * (lease-oracle.ts). Default: on for the odd seeds of the chaos profiles, off for the scripted
   * scenarios (whose schedules count on an exact log).
   */
  readonly leases?: boolean
  /** TEST ONLY: broken lease handling (register-machine.ts), to prove the lease checks fail. */
  readonly leaseBug?: LeaseBug
}

export interface SimStats {
  ops: number
  indeterminate: number
  elections: number
  messages: number
  dropped: number
  crashes: number
  snapshots: number
  snapshotInstalls: number
  confChanges: number
  leaderRemovalsProposed: number
  virtualMs: number
  linearizability: "ok" | "illegal" | "unknown" | "skipped"
  /** Events delivered to the simulated watch clients, and their reconnects to another node. */
  watchEvents: number
  watchReattaches: number
  /** Lease client operations completed, leases expired by ticks and revoked, lock epochs held. */
  leaseOps: number
  leasesExpired: number
  leasesRevoked: number
  lockEpochs: number
}

export interface SimResult {
  readonly seed: number
  readonly profile: string
  readonly violation: Violation | null
  readonly trace: readonly string[]
  readonly stats: SimStats
}

type SimEvent =
  | { readonly kind: "tick"; readonly node: SimNode; readonly inc: number }
  | { readonly kind: "deliver"; readonly message: Message }
  | { readonly kind: "persist"; readonly node: SimNode; readonly inc: number }
  | { readonly kind: "request"; readonly node: NodeId; readonly request: ClientRequest }
  | {
      readonly kind: "response"
      readonly client: number
      readonly reqId: number
      readonly response: NodeResponse
    }
  | { readonly kind: "clientNext"; readonly client: number }
  | { readonly kind: "clientTimeout"; readonly client: number; readonly reqId: number }
  | { readonly kind: "action"; readonly run: () => void }

const tickMs = 10
const electionTicks = 10
const leaderBound = 3000
const settleMs = 400
const probeWindow = 1500
const traceLimit = 60
/** A normal run takes ~50k events; far beyond that the core is flooding the network. */
const maxEvents = 3_000_000

export class Simulation implements NodeHost {
  readonly rng: Prng
  readonly checker = new InvariantChecker()
  readonly network: Network
  readonly nodes = new Map<NodeId, SimNode>()
  readonly bootstrapConf: ConfState
  now = 0
  readonly faultEnd: number
  healed = false
  private leaderFoundAt: number | null = null
  stopClientsAt = Infinity
  private readonly queue = new EventQueue<SimEvent>()
  private readonly clients: SimClient[] = []
  /** Keys the clients use (scripts probe them). */
  readonly keys: readonly string[]
  private readonly history: KvOperation[] = []
  private readonly persistDelays = new Map<NodeId, number>()
  private readonly traceRing: string[] = []
  private readonly confIndexes = new Set<number>()
  private watchers: { pred: () => boolean; action: () => void }[] = []
  private nextReqId = 1
  private nextNodeNo: number
  readonly snapshotEvery: number
  readonly keepEntries: number
  readonly leaderSendsEarly: boolean
  readonly callerBug: CallerBug | undefined
  readonly durableMachine: boolean
  readonly batchProposals: boolean
  readonly leaseBug: LeaseBug | undefined
  readonly stats: SimStats = {
    ops: 0,
    indeterminate: 0,
    elections: 0,
    messages: 0,
    dropped: 0,
    crashes: 0,
    snapshots: 0,
    snapshotInstalls: 0,
    confChanges: 0,
    leaderRemovalsProposed: 0,
    virtualMs: 0,
    linearizability: "skipped",
    watchEvents: 0,
    watchReattaches: 0,
    leaseOps: 0,
    leasesExpired: 0,
    leasesRevoked: 0,
    lockEpochs: 0,
  }

  private readonly scenario: Scenario | undefined
  /** Watch clients following every node's applied changes (watch-clients.ts). */
  watches: SimWatchClients | undefined
  /** The change history every replica's register machine shares (register-machine.ts). */
  readonly changeLog: RegisterEvent[][] = []
  /** The lease checks and the lease/lock clients (when leases are on). */
  readonly leases: LeaseOracle | undefined
  private readonly leaseClients: SimLeaseClients | undefined

  constructor(readonly options: SimOptions) {
    this.rng = new Prng(options.seed)
    const profile = options.profile
    this.scenario = profile.scenario ? scenarios[profile.scenario] : undefined
    this.network = new Network(this.rng.fork(), profile.network)
    this.faultEnd = options.faultPhaseMs ?? 3000
    this.snapshotEvery = this.rng.int(4, 30)
    this.keepEntries = this.rng.int(0, 8)
    this.callerBug = options.callerBug
    this.leaseBug = options.leaseBug
    this.durableMachine = this.rng.chance(0.5)
    this.batchProposals = this.rng.chance(0.5)
    this.leaderSendsEarly =
      options.leaderSendsEarly ?? this.scenario?.leaderSendsEarly ?? this.rng.chance(0.5)
    const voters = Array.from({ length: profile.nodes }, (_, i) => `n${i + 1}`)
    this.nextNodeNo = profile.nodes + 1
    this.bootstrapConf = { voters, learners: [], votersOutgoing: [] }
    for (const id of voters) this.addNode(id)
    this.keys = ["x", "y", "z"].slice(0, this.rng.int(1, 3))
    this.watches = new SimWatchClients(this, this.keys)
    // Leases run in the odd seeds of the chaos profiles (their tick entries and clients add about
    // a third to a run's messages; every other seed keeps the sweep's time down).
    if (options.leases ?? (this.scenario === undefined && options.seed % 2 === 1)) {
      const oracle = new LeaseOracle(this)
      this.leases = oracle
      const sim = this
      const host: LeaseClientHost = {
        rng: this.rng,
        oracle,
        get now() {
          return sim.now
        },
        get stopClientsAt() {
          return sim.stopClientsAt
        },
        after: (delay, run) => this.after(delay, run),
        memberNodes: () => this.memberNodes(),
        node: (id) => this.nodes.get(id),
        deliverRequest: (node, request) =>
          this.at(this.now + this.rng.int(1, 3), { kind: "request", node, request }),
        requireProgress: (call, what) => this.requireProgress(call, what),
        trace: (line) => this.trace(line),
      }
      this.leaseClients = new SimLeaseClients(host, 1, 2)
    }
    for (let c = 0; c < (options.clients ?? 5); c++) {
      this.clients.push(new SimClient(c, this.keys))
      this.at(this.rng.int(0, 50), { kind: "clientNext", client: c })
    }
  }

  // ---- NodeHost ----

  /** Node clocks run at 10 local ms per tick interval (skewed per node). */
  clockRates(): { max: number; min: number } {
    const rates = [...this.nodes.values()].map((n) => tickMs / n.tickInterval)
    return { max: Math.max(...rates), min: Math.min(...rates) }
  }

  send(message: Message): void {
    this.stats.messages++
    // A wire copy: the envelope and entry list are copied; entries and snapshots are immutable data.
    const copy: Message =
      message.type === "append" ? { ...message, entries: [...message.entries] } : { ...message }
    for (const delay of this.network.plan(message.from, message.to))
      this.at(this.now + delay, { kind: "deliver", message: copy })
    if (
      copy.type === "append" &&
      copy.entries.length > 0 &&
      this.rng.chance(this.options.profile.misrouteRate)
    ) {
      const forged: Message = {
        ...copy,
        group: copy.group + 1,
        entries: copy.entries.map((e) => ({ ...e, data: Uint8Array.from([...e.data, 0x21]) })),
      }
      this.at(this.now + this.rng.int(1, 5), { kind: "deliver", message: forged })
    }
  }

  reply(request: ClientRequest, response: NodeResponse): void {
    this.at(this.now + this.rng.int(1, 3), {
      kind: "response",
      client: request.client,
      reqId: request.reqId,
      response,
    })
  }

  schedule(delay: number, run: () => void): void {
    this.after(delay, run)
  }

  persistDelay(node: SimNode): number {
    return this.healed ? 0 : (this.persistDelays.get(node.id) ?? 0)
  }

  setPersistDelay(node: NodeId, delay: number): void {
    this.persistDelays.set(node, delay)
  }

  schedulePersist(node: SimNode, delay: number): void {
    this.at(this.now + delay, { kind: "persist", node, inc: node.incarnation })
  }

  onConfApplied(node: SimNode, change: ConfChange, index: number): void {
    if (!this.confIndexes.has(index)) {
      this.confIndexes.add(index)
      this.stats.confChanges++
    }
    if (change.type !== "removeNode") return
    const target = this.nodes.get(change.node)
    if (target === undefined || target.removed) return
    target.removed = true
    this.trace(`${node.id} applied removal of ${change.node}; it shuts down`)
    this.at(this.now + this.rng.int(10, 80), { kind: "action", run: () => target.crash() })
  }

  trace(line: string): void {
    const entry = `t=${this.now} ${line}`
    if (this.options.verbose) console.log(entry)
    this.traceRing.push(entry)
    if (this.traceRing.length > traceLimit) this.traceRing.shift()
  }

  // ---- cluster control (used by chaos and scripts) ----

  at(time: number, event: SimEvent): void {
    this.queue.push(time, event)
  }

  after(delay: number, run: () => void): void {
    this.at(this.now + delay, { kind: "action", run })
  }

  addNode(id: NodeId): SimNode {
    const skew = this.options.profile.skew
    const factor = skew === 0 ? 1 : Math.exp((this.rng.float() * 2 - 1) * Math.log(1 + skew))
    const raft = { ...this.scenario?.raft, ...this.options.raft }
    const config: RaftConfig = {
      group: 1,
      id,
      electionTicks: this.options.raft?.electionTicks ?? electionTicks,
      heartbeatTicks: 2,
      preVote: true,
      checkQuorum: true,
      maxEntriesPerAppend: raft.maxEntriesPerAppend ?? this.rng.int(1, 8),
      maxInflightAppends: raft.maxInflightAppends ?? this.rng.int(1, 4),
      seed: 0,
      ...(this.options.injectBug ? { injectBug: this.options.injectBug } : {}),
    }
    const node = new SimNode(id, config, this.bootstrapConf, this, Math.max(1, Math.round(tickMs * factor)))
    this.nodes.set(id, node)
    this.boot(node)
    return node
  }

  newNodeId(): NodeId {
    return `n${this.nextNodeNo++}`
  }

  private boot(node: SimNode): void {
    node.start(this.rng.u32())
    this.at(this.now + this.rng.int(1, node.tickInterval), { kind: "tick", node, inc: node.incarnation })
  }

  crash(node: SimNode, downFor: number | null): void {
    if (!node.alive) return
    this.stats.crashes++
    node.crash()
    this.trace(
      `${node.id} crashes (durable last ${node.durable.lastIndex}, commit ${node.durable.hardState.commit})`,
    )
    if (downFor !== null) this.after(downFor, () => this.restart(node))
  }

  restart(node: SimNode): void {
    if (node.alive || node.removed) return
    this.trace(`${node.id} restarts`)
    this.boot(node)
  }

  aliveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive && !n.removed)
  }

  memberNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.removed)
  }

  leader(): SimNode | null {
    let best: SimNode | null = null
    for (const n of this.aliveNodes())
      if (n.role === "leader" && (best === null || n.soft.term > best.soft.term)) best = n
    return best
  }

  /** Run `action` once, right after the first event that makes `pred` true (scripted scenarios). */
  when(pred: () => boolean, action: () => void): void {
    this.watchers.push({ pred, action })
  }

  private runWatchers(): void {
    const fired = this.watchers.filter((w) => w.pred())
    if (fired.length === 0) return
    this.watchers = this.watchers.filter((w) => !fired.includes(w))
    for (const w of fired) w.action()
  }

  // ---- run ----

  run(): SimResult {
    let violation: Violation | null = null
    try {
      this.at(0, { kind: "action", run: () => runChaos(this) })
      this.at(0, { kind: "action", run: () => this.watches?.start() })
      this.at(0, { kind: "action", run: () => this.leaseClients?.start() })
      this.options.script?.(this)
      this.scenario?.script(this)
      this.at(this.faultEnd, { kind: "action", run: () => this.heal() })
      let events = 0
      const hardStop = this.faultEnd + leaderBound + settleMs + probeWindow + opDeadline + 500
      for (;;) {
        const item = this.queue.pop()
        if (item === undefined || item.time > hardStop) break
        if (item.time > this.stopClientsAt && this.clients.every((c) => c.op === null)) break
        this.now = item.time
        if (++events > maxEvents)
          throw new Violation(
            "liveness",
            `event budget of ${maxEvents} exhausted at t=${this.now} (a message storm?)`,
          )
        this.handle(item.event)
        if (this.watchers.length > 0) this.runWatchers()
        if (this.healed) this.checkLiveness()
      }
      if (this.leaderFoundAt === null)
        throw new Violation("liveness", `no leader within ${leaderBound} ms after healing`)
      this.checkHistory()
      this.watches?.check([...this.nodes.values()])
      this.leases?.checkProgress(this.leaderFoundAt + settleMs, Math.min(this.now, this.stopClientsAt))
    } catch (e) {
      if (!(e instanceof Violation)) throw e
      violation = e
      this.trace(`VIOLATION ${e.message}`)
    }
    this.stats.virtualMs = this.now
    this.stats.dropped = this.network.dropped
    this.stats.elections = this.checker.leaderCount()
    this.stats.watchEvents = this.watches?.events ?? 0
    this.stats.watchReattaches = this.watches?.reattaches ?? 0
    this.stats.leaseOps = this.leaseClients?.ops ?? 0
    this.stats.leasesExpired = this.leases?.expired ?? 0
    this.stats.leasesRevoked = this.leases?.revoked ?? 0
    this.stats.lockEpochs = this.leaseClients?.lockEpochs ?? 0
    return {
      seed: this.options.seed,
      profile: this.options.profile.name,
      violation,
      trace: [...this.traceRing],
      stats: this.stats,
    }
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case "tick":
        if (ev.inc !== ev.node.incarnation || !ev.node.alive) return
        ev.node.tick()
        this.at(this.now + ev.node.tickInterval, ev)
        return
      case "deliver": {
        const m = ev.message
        const node = this.nodes.get(m.to)
        if (node === undefined || !node.alive || this.network.isBlocked(m.from, m.to)) return
        node.receive(m)
        return
      }
      case "persist":
        if (ev.inc === ev.node.incarnation) ev.node.flush()
        return
      case "request": {
        const node = this.nodes.get(ev.node)
        if (node?.alive) node.request(ev.request)
        return
      }
      case "response":
        this.onResponse(ev.client, ev.reqId, ev.response)
        return
      case "clientNext":
        this.beginOp(this.clients[ev.client]!)
        return
      case "clientTimeout":
        this.onTimeout(this.clients[ev.client]!, ev.reqId)
        return
      case "action":
        ev.run()
        return
    }
  }

  private heal(): void {
    this.healed = true
    this.network.heal()
    this.network.faults = { dropRate: 0, duplicateRate: 0, minLatency: 1, maxLatency: 5 }
    for (const n of this.nodes.values()) {
      if (!n.removed && !n.alive) this.restart(n)
      if (n.alive && n.persistScheduled) n.flush()
    }
    this.trace("heal: network healed, disks fast, crashed nodes restarted")
  }

  /** A leader that a quorum of its own voters follows in its term. */
  private checkLiveness(): void {
    if (this.leaderFoundAt !== null) return
    const leader = this.leader()
    if (leader !== null) {
      const voters = leader.currentConf().voters
      const following = voters.filter((v) => {
        const n = this.nodes.get(v)
        return n?.alive && n.soft.term === leader.soft.term && (n === leader || n.soft.leader === leader.id)
      })
      if (following.length > voters.length / 2) {
        this.leaderFoundAt = this.now
        this.stopClientsAt = this.now + settleMs + probeWindow
        this.trace(`liveness: ${leader.id} leads term ${leader.soft.term} after healing`)
        return
      }
    }
    if (this.now > this.faultEnd + leaderBound)
      throw new Violation("liveness", `no leader within ${leaderBound} ms after healing`)
  }

  // ---- clients ----

  private beginOp(client: SimClient): void {
    if (this.now >= this.stopClientsAt || client.op !== null) return
    client.begin(this.rng, this.now)
    this.sendAttempt(client)
  }

  /** A scripted one-shot read sent straight to `node`; it is part of the checked history. */
  probeRead(node: NodeId, key: string): void {
    const client = new SimClient(this.clients.length, this.keys, true)
    this.clients.push(client)
    client.beginWith({ op: "read", key }, this.now)
    this.sendAttempt(client, node)
  }

  private sendAttempt(client: SimClient, to?: NodeId): void {
    const op = client.op!
    const members = this.memberNodes()
    const hinted = client.leaderHint ? this.nodes.get(client.leaderHint) : undefined
    const fixed = to === undefined ? undefined : this.nodes.get(to)
    const target = fixed ?? (hinted && !hinted.removed ? hinted : this.rng.pick(members))
    client.leaderHint = null
    op.reqId = this.nextReqId++
    op.target = target.id
    const request: ClientRequest = {
      reqId: op.reqId,
      client: client.id,
      input: op.input,
      clientOpId: `c${client.id}.${op.opNo}.${op.reqId}`,
    }
    this.at(this.now + this.rng.int(1, 3), { kind: "request", node: target.id, request })
    const timeout = op.input.op === "read" ? readAttemptTimeout : writeAttemptTimeout
    this.at(this.now + timeout, { kind: "clientTimeout", client: client.id, reqId: op.reqId })
  }

  private onResponse(clientId: number, reqId: number, response: NodeResponse): void {
    if (clientId >= LEASE_CLIENT_BASE) {
      this.leaseClients?.onResponse(clientId, reqId, response)
      return
    }
    const client = this.clients[clientId]!
    const op = client.op
    if (op === null || op.reqId !== reqId) return
    if (response.kind === "ok") {
      this.record(client, response.output as KvOutput)
      return
    }
    client.leaderHint = response.leader
    if (this.now - op.call < opDeadline) {
      this.after(this.rng.int(2, 15), () => {
        if (client.op === op && op.reqId === reqId) this.sendAttempt(client)
      })
      return
    }
    // Every attempt of this operation definitely failed: it never took effect.
    this.requireProgress(op.call, `client ${clientId} gave up on ${op.input.op} after repeated rejections`)
    client.abandon()
    this.nextOp(client)
  }

  private onTimeout(client: SimClient, reqId: number): void {
    const op = client.op
    if (op === null || op.reqId !== reqId) return
    if (op.input.op === "read" && this.now - op.call < opDeadline) {
      this.sendAttempt(client)
      return
    }
    this.requireProgress(op.call, `client ${client.id} ${op.input.op} timed out (target ${op.target})`)
    this.record(client, null)
  }

  /** After healing and a settle period, every operation must complete. */
  requireProgress(call: number, what: string): void {
    if (this.leaderFoundAt !== null && call >= this.leaderFoundAt + settleMs)
      throw new Violation("liveness", `${what}, called at ${call}, after the cluster healed`)
  }

  private record(client: SimClient, output: Parameters<SimClient["finish"]>[2]): void {
    const op = client.finish(this.history.length, this.now, output)
    this.history.push(op)
    this.stats.ops++
    if (output === null) this.stats.indeterminate++
    this.nextOp(client)
  }

  private nextOp(client: SimClient): void {
    if (client.oneShot) return
    this.at(this.now + this.rng.int(0, 10), { kind: "clientNext", client: client.id })
  }

  private checkHistory(): void {
    const result = checkKvHistory(this.history, { maxSteps: 1_000_000 })
    this.stats.linearizability = result.kind
    if (result.kind === "illegal") throw new Violation("linearizability", result.info)
  }
}

export const runSimulation = (options: SimOptions): SimResult => new Simulation(options).run()
