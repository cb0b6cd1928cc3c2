/**
 * A tiny in-test cluster for the pure Raft core: each node persists its Readys into an in-memory
 * store, messages go through one FIFO queue, and a filter can cut links (partitions).
 */
import type { ConfState, Entry, HardState, NodeId, Snapshot } from "../../../schemas/raft.ts"
import {
  type Input,
  initRaft,
  type Message,
  type ProposalOutcome,
  type RaftConfig,
  type RaftState,
  type ReadState,
  type Ready,
  status,
  step,
} from "../../../src/raft/index.ts"

export interface Store {
  hardState: HardState
  entries: Entry[]
  snapshot: Snapshot | null
}

export interface SimNode {
  id: NodeId
  state: RaftState
  store: Store
  applied: Entry[]
  readStates: ReadState[]
  proposals: ProposalOutcome[]
  /** When false, Readys are written but not synced: no `persisted` input, and a restart loses them. */
  ackPersist: boolean
  /** Store entries up to here are synced (survive a restart). */
  syncedTo: number
  /** The hard state as of the last sync. */
  syncedHard: HardState
  /** Messages waiting for the sync (only leader replication may go out before it). */
  held: Message[]
  config: RaftConfig
  bootstrap: ConfState
}

export const baseConfig = (id: NodeId, seed = 1): RaftConfig => ({
  group: 1,
  id,
  electionTicks: 10,
  heartbeatTicks: 2,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 64,
  maxInflightAppends: 4,
  seed,
})

/** A node with empty durable storage, booted with `bootstrap` as its membership. */
const freshNode = (id: NodeId, config: RaftConfig, bootstrap: ConfState): SimNode => {
  const store: Store = { hardState: { term: 0, vote: null, commit: 0 }, entries: [], snapshot: null }
  const state = initRaft(config, {
    hardState: store.hardState,
    snapshot: null,
    entries: [],
    bootstrapConf: bootstrap,
  })
  return {
    id,
    state,
    store,
    applied: [],
    readStates: [],
    proposals: [],
    ackPersist: true,
    syncedTo: 0,
    syncedHard: store.hardState,
    held: [],
    config,
    bootstrap,
  }
}

export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>()
  queue: Message[] = []
  /** Every message ever sent, for determinism checks. */
  readonly trace: string[] = []
  cut: (from: NodeId, to: NodeId, m: Message) => boolean = () => false
  /** What a delivered message becomes on the way (e.g. through a wire codec); identity by default. */
  wire: (m: Message) => Message = (m) => m
  down = new Set<NodeId>()
  onApply: (id: NodeId, e: Entry) => void = () => {}

  constructor(
    ids: readonly NodeId[],
    tweak: (c: RaftConfig) => RaftConfig = (c) => c,
    voters: readonly NodeId[] = ids,
    seed = 1,
    learners: readonly NodeId[] = [],
  ) {
    const bootstrap: ConfState = { voters: [...voters], learners: [...learners], votersOutgoing: [] }
    for (const [i, id] of ids.entries()) {
      const config = tweak(baseConfig(id, seed * 31 + i))
      this.nodes.set(id, freshNode(id, config, bootstrap))
    }
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  status(id: NodeId) {
    return status(this.node(id).state)
  }

  /** Steps one input and handles its Ready the way a replica actor would. */
  step(id: NodeId, input: Input): Ready {
    const n = this.node(id)
    const [state, ready] = step(n.state, input)
    n.state = state
    this.handle(n, ready)
    return ready
  }

  private handle(n: SimNode, ready: Ready): void {
    const st = n.store
    if (ready.snapshot !== null) {
      st.snapshot = ready.snapshot
      st.entries = []
      n.applied = [] // the state machine is replaced by the snapshot
    }
    if (ready.truncateFrom !== null) st.entries = st.entries.filter((e) => e.index < ready.truncateFrom!)
    if (ready.entries.length > 0) st.entries.push(...ready.entries)
    if (ready.compactTo !== null) st.entries = st.entries.filter((e) => e.index > ready.compactTo!)
    if (ready.hardState !== null) st.hardState = ready.hardState
    const leading = n.state.role === "leader"
    for (const m of ready.messages) {
      const early = leading && (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot")
      if (!n.ackPersist && !early) {
        n.held.push(m)
        continue
      }
      this.trace.push(`${m.from}>${m.to}:${m.type}:${m.term}`)
      this.queue.push(m)
    }
    n.readStates.push(...ready.readStates)
    n.proposals.push(...ready.proposals)
    if (n.ackPersist) {
      n.syncedTo = st.entries.length === 0 ? 0 : st.entries[st.entries.length - 1]!.index
      n.syncedHard = st.hardState
    }
    if (ready.entries.length > 0 && n.ackPersist) {
      const last = ready.entries[ready.entries.length - 1]!
      this.step(n.id, { type: "persisted", index: last.index, term: last.term })
    }
    if (ready.snapshot !== null && n.ackPersist) {
      this.step(n.id, { type: "persisted", index: ready.snapshot.meta.index, term: ready.snapshot.meta.term })
    }
    if (ready.committedEntries.length > 0) {
      for (const e of ready.committedEntries) this.onApply(n.id, e)
      n.applied.push(...ready.committedEntries)
      const last = ready.committedEntries[ready.committedEntries.length - 1]!
      this.step(n.id, { type: "applied", index: last.index })
    }
  }

  /** Acknowledges everything a node has stored (after ackPersist was false). */
  flushPersist(id: NodeId): void {
    const n = this.node(id)
    const last = n.store.entries[n.store.entries.length - 1]
    n.syncedTo = last === undefined ? 0 : last.index
    n.syncedHard = n.store.hardState
    n.ackPersist = true
    const held = n.held
    n.held = []
    for (const m of held) {
      this.trace.push(`${m.from}>${m.to}:${m.type}:${m.term}`)
      this.queue.push(m)
    }
    if (last !== undefined) this.step(id, { type: "persisted", index: last.index, term: last.term })
  }

  /** Delivers queued messages until none are left (or a bound is hit). */
  deliverAll(max = 100_000): number {
    let delivered = 0
    while (this.queue.length > 0 && delivered < max) {
      const batch = this.queue
      this.queue = []
      for (const m of batch) {
        if (this.down.has(m.to) || this.down.has(m.from) || this.cut(m.from, m.to, m)) continue
        if (!this.nodes.has(m.to)) continue
        delivered++
        this.step(m.to, { type: "message", message: this.wire(m) })
      }
    }
    return delivered
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.step(id, { type: "tick" })
  }

  /** Ticks every live node once and delivers, n times. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.nodes.keys()) if (!this.down.has(id)) this.tick(id)
      this.deliverAll()
    }
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()]
      .filter((n) => !this.down.has(n.id) && n.state.role === "leader")
      .map((n) => n.id)
  }

  /** Forces `id` to campaign and delivers until quiet. */
  elect(id: NodeId): void {
    this.step(id, { type: "campaign" })
    this.deliverAll()
  }

  propose(id: NodeId, text: string, pid = 0): Ready {
    return this.step(id, { type: "propose", id: pid, data: new TextEncoder().encode(text) })
  }

  /** Restarts a node from its store (losing nothing that was persisted). */
  restart(id: NodeId, tweak?: (c: RaftConfig) => RaftConfig): void {
    const n = this.node(id)
    if (tweak !== undefined) n.config = tweak(n.config)
    const st = n.store
    if (!n.ackPersist) {
      st.entries = st.entries.filter((e) => e.index <= n.syncedTo) // unsynced writes are lost
      st.hardState = n.syncedHard
      n.held = []
    }
    n.ackPersist = true
    n.state = initRaft(n.config, {
      hardState: st.hardState,
      snapshot: st.snapshot,
      entries: st.entries,
      bootstrapConf: n.bootstrap,
    })
    n.applied = []
    this.queue = this.queue.filter((m) => m.to !== id)
  }

  /** Adds a brand-new, empty node (for membership changes). */
  addNode(id: NodeId, bootstrap: ConfState): void {
    const config = baseConfig(id, 999)
    this.nodes.set(id, freshNode(id, config, bootstrap))
  }
}

export const text = (e: Entry): string => new TextDecoder().decode(e.data)

export const normalTexts = (n: SimNode): string[] => n.applied.filter((e) => e.type === "normal").map(text)
