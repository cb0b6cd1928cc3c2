/**
 * A 3-node in-memory cluster for the core benchmark: no disk (every Ready is "durable" at once),
 * no network delay, messages delivered in FIFO order until quiet.
 */
import {
  confStateAt,
  initRaft,
  type Message,
  type RaftState,
  type Ready,
  step,
  termOf,
} from "../../src/raft/index.ts"

const SNAPSHOT_EVERY = 20_000
const EMPTY = new Uint8Array(0)

export class BenchCluster {
  readonly states = new Map<string, RaftState>()
  private queue: Message[] = []
  committed = 0
  readsReady = 0

  constructor(readonly ids: readonly string[]) {
    const conf = { voters: [...ids], learners: [], votersOutgoing: [] }
    for (const [i, id] of ids.entries()) {
      const state = initRaft(
        {
          group: 1,
          id,
          electionTicks: 10,
          heartbeatTicks: 2,
          preVote: true,
          checkQuorum: true,
          maxEntriesPerAppend: 256,
          maxInflightAppends: 64,
          seed: i + 1,
        },
        { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [], bootstrapConf: conf },
      )
      this.states.set(id, state)
    }
  }

  step(id: string, input: Parameters<typeof step>[1]): void {
    const [state, ready] = step(this.states.get(id)!, input)
    this.states.set(id, state)
    this.handle(id, ready)
  }

  private handle(id: string, ready: Ready): void {
    for (const m of ready.messages) this.queue.push(m)
    if (id === this.ids[0]) {
      this.committed += ready.committedEntries.length
      for (const r of ready.readStates) if (r.kind === "ready") this.readsReady++
    }
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1]!
      this.step(id, { type: "persisted", index: last.index, term: last.term })
    }
    if (ready.committedEntries.length > 0) {
      const applied = ready.committedEntries[ready.committedEntries.length - 1]!.index
      this.step(id, { type: "applied", index: applied })
      // Compact like a real replica would, so the in-memory log stays bounded.
      const state = this.states.get(id)!
      if (applied - (state.snapshot?.meta.index ?? 0) >= SNAPSHOT_EVERY) {
        const meta = { index: applied, term: termOf(state, applied), conf: confStateAt(state, applied)! }
        this.step(id, { type: "snapshotTaken", snapshot: { meta, data: EMPTY }, keepEntries: 1000 })
      }
    }
  }

  deliverAll(): void {
    while (this.queue.length > 0) {
      const batch = this.queue
      this.queue = []
      for (const m of batch) this.step(m.to, { type: "message", message: m })
    }
  }
}
