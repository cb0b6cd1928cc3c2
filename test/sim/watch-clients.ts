/**
 * Watch clients in the simulator. Each follows the watch protocol the real engine implements
 * (actors/watch-hub.ts): attached to one node, it first catches up from that node's history
 * (revisions >= its start, one response at the node's revision), then gets each live change the
 * node applies, with a bookmark (progress) after the catch-up and now and then. A snapshot
 * install re-syncs it from the node's restored history. When its node crashes, the client
 * reattaches to another live node a little later and resumes from its last revision + 1. At the
 * end every client's runs, joined, go through the watch validators against the committed history.
 */
import {
  checkWatch,
  concatRuns,
  type Observation,
  type WatchRun,
  type WatchRunSpec,
} from "../support/watch-validators.ts"
import { Violation } from "./invariants.ts"
import type { Prng } from "./prng.ts"
import type { RegisterEvent } from "./register-machine.ts"
import type { NodeWatchListener, SimNode } from "./sim-node.ts"

interface SimWatcher {
  readonly id: number
  readonly spec: WatchRunSpec
  node: SimNode | null
  readonly sessions: WatchRun[]
  current: Observation[]
  start: number
  last: number
}

const matches = (spec: WatchRunSpec, key: string) =>
  spec.rangeEnd === undefined
    ? key === spec.key
    : key >= spec.key && (spec.rangeEnd === "" || key < spec.rangeEnd)

export interface SimWatchHost {
  readonly rng: Prng
  readonly now: number
  after(delay: number, run: () => void): void
  aliveNodes(): SimNode[]
  trace(line: string): void
}

export class SimWatchClients implements NodeWatchListener {
  private readonly watchers: SimWatcher[]
  events = 0
  reattaches = 0

  constructor(
    private readonly host: SimWatchHost,
    keys: readonly string[],
  ) {
    const specs: WatchRunSpec[] = [
      { key: keys[0]!, startRevision: 1, prevKv: false },
      { key: "a", rangeEnd: "", startRevision: 1 },
      { key: keys[0]!, rangeEnd: "z", startRevision: 1 },
    ]
    this.watchers = specs.map((spec, id) => ({
      id,
      spec,
      node: null,
      sessions: [],
      current: [],
      start: 1,
      last: 0,
    }))
  }

  /** Attaches every client to a node, staggered, and schedules bookmarks. */
  start(): void {
    for (const w of this.watchers) this.host.after(this.host.rng.int(0, 200), () => this.attach(w))
    const progress = () => {
      for (const w of this.watchers) if (w.node !== null) this.bookmark(w)
      this.host.after(250, progress)
    }
    this.host.after(250, progress)
  }

  private attach(w: SimWatcher): void {
    const alive = this.host.aliveNodes()
    if (alive.length === 0) {
      this.host.after(50, () => this.attach(w))
      return
    }
    const node = alive[this.host.rng.int(0, alive.length - 1)]!
    w.node = node
    this.catchUp(w)
    this.host.trace(`watch ${w.id} attached to ${node.id} from revision ${w.start}`)
  }

  /** Everything the node has from max(start, last + 1), as one response at the node's revision. */
  private catchUp(w: SimWatcher): void {
    const node = w.node!
    const from = Math.max(w.start, w.last + 1)
    const past = node.historyFrom(from).filter((e) => matches(w.spec, e.key))
    if (past.length > 0) this.deliver(w, node.revision, past)
    this.bookmark(w)
  }

  private bookmark(w: SimWatcher): void {
    w.current.push({ kind: "progress", revision: w.node!.revision })
  }

  private deliver(w: SimWatcher, revision: number, events: readonly RegisterEvent[]): void {
    w.current.push({
      kind: "events",
      revision,
      events: events.map((e) => ({ type: e.type, key: e.key, value: e.value, modRevision: e.revision })),
    })
    w.last = Math.max(w.last, ...events.map((e) => e.revision))
    this.events += events.length
  }

  applied(node: SimNode, events: readonly RegisterEvent[]): void {
    const revision = events[0]?.revision ?? 0
    for (const w of this.watchers) {
      if (w.node !== node || revision <= w.last || revision < w.start) continue
      // One revision, one response (a lease's deletions arrive together: atomic).
      const mine = events.filter((e) => matches(w.spec, e.key))
      if (mine.length > 0) this.deliver(w, revision, mine)
    }
  }

  restored(node: SimNode): void {
    for (const w of this.watchers) if (w.node === node) this.catchUp(w)
  }

  down(node: SimNode): void {
    for (const w of this.watchers) {
      if (w.node !== node) continue
      // The stream breaks: this session ends; the client resumes elsewhere from last + 1.
      w.node = null
      w.sessions.push({ spec: { ...w.spec, startRevision: w.start }, observations: w.current })
      w.current = []
      w.start = w.last + 1
      this.reattaches++
      this.host.after(this.host.rng.int(20, 120), () => this.attach(w))
    }
  }

  /**
   * Validates every client against the committed history (replicas agreeing on it is checked as
   * they apply, in register-machine.ts).
   */
  check(nodes: readonly SimNode[]): void {
    let history: readonly RegisterEvent[] = []
    for (const n of nodes) {
      const h = n.historyFrom(1)
      if (h.length > history.length) history = h
    }
    const committed = history.map((e) => ({ revision: e.revision, type: e.type, key: e.key, value: e.value }))
    for (const w of this.watchers) {
      const sessions = [
        ...w.sessions,
        { spec: { ...w.spec, startRevision: w.start }, observations: w.current },
      ]
      let run = sessions[0]!
      const problems: string[] = []
      for (const next of sessions.slice(1)) {
        const joined = concatRuns(run, next)
        problems.push(...joined.violations)
        run = joined.run
      }
      // A session on a lagging replica (a learner catching up) has not regressed the watch.
      const reached = Math.max(w.last, w.node?.alive ? w.node.revision : 0)
      problems.push(...checkWatch(committed, { ...run, reachedRevision: reached }))
      if (problems.length > 0)
        throw new Violation(
          "watch",
          `watch ${w.id} (${JSON.stringify(w.spec)}): ${problems.slice(0, 3).join("; ")}`,
        )
    }
  }
}
