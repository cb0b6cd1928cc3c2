/**
 * Randomized safety check: fast-check drives a 3-node cluster (plus two spare nodes for
 * membership changes) through random ticks, deliveries, drops, duplicates, crashes that lose
 * unsynced writes, slow disks, proposals, reads, transfers and conf changes, and checks after
 * every action: one leader per term, log matching, and that no two nodes ever apply different
 * entries at the same index. Then it heals everything and checks that the cluster makes progress.
 * RAFT_PROP_RUNS scales the number of runs (default 25).
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { ConfChangeType, NodeId } from "../../../schemas/raft.ts"
import { confStateAt, entryOf, type RaftState, termOf } from "../../../src/raft/index.ts"
import { Cluster } from "./harness.ts"

const IDS = ["a", "b", "c", "d", "e"] as const
const RUNS = Number(process.env.RAFT_PROP_RUNS ?? 25)

type Action =
  | { t: "tick"; n: number }
  | { t: "tickAll" }
  | { t: "deliver"; k: number; count: number }
  | { t: "drop"; k: number }
  | { t: "dup"; k: number }
  | { t: "propose"; n: number }
  | { t: "crash"; n: number }
  | { t: "slowDisk"; n: number }
  | { t: "sync"; n: number }
  | { t: "read"; n: number }
  | { t: "transfer"; n: number; to: number }
  | { t: "conf"; n: number; target: number; kind: ConfChangeType }
  | { t: "snapshot"; n: number; keep: number }

const node = fc.integer({ min: 0, max: 4 })
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("snapshot" as const),
      n: node,
      keep: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("tick" as const), n: node }) },
  { weight: 20, arbitrary: fc.constant({ t: "tickAll" as const }) },
  {
    weight: 40,
    arbitrary: fc.record({
      t: fc.constant("deliver" as const),
      k: fc.nat(),
      count: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("drop" as const), k: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("dup" as const), k: fc.nat() }) },
  { weight: 15, arbitrary: fc.record({ t: fc.constant("propose" as const), n: node }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("crash" as const), n: node }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("slowDisk" as const), n: node }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("sync" as const), n: node }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("read" as const), n: node }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("transfer" as const), n: node, to: node }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("conf" as const),
      n: node,
      target: node,
      kind: fc.constantFrom<ConfChangeType>("addVoter", "addLearner", "removeNode", "demoteToLearner"),
    }),
  },
)

class Checker {
  readonly leaderOfTerm = new Map<number, NodeId>()
  readonly applied = new Map<number, number>()
  failure: string | null = null

  fail(msg: string): void {
    this.failure ??= msg
  }

  /** index -> the entry's term and the leader term in which it was first seen committed. */
  readonly committed = new Map<number, { term: number; inTerm: number }>()

  check(c: Cluster): void {
    for (const n of c.nodes.values()) {
      const st = n.state
      if (st.role !== "leader") continue
      const prev = this.leaderOfTerm.get(st.term)
      if (prev !== undefined && prev !== n.id) this.fail(`two leaders in term ${st.term}: ${prev}, ${n.id}`)
      if (prev === undefined) this.checkLeaderCompleteness(n.id, st)
      this.leaderOfTerm.set(st.term, n.id)
      for (let i = st.commit; i > st.log.floorIndex && !this.committed.has(i); i--) {
        this.committed.set(i, { term: termOf(st, i), inTerm: st.term })
      }
    }
    const nodes = [...c.nodes.values()]
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const x = nodes[i]!.state
        const y = nodes[j]!.state
        const lo = Math.max(x.log.floorIndex, y.log.floorIndex) + 1
        const hi = Math.min(x.log.floorIndex + x.log.entries.length, y.log.floorIndex + y.log.entries.length)
        let top = -1
        for (let k = hi; k >= lo; k--) {
          if (termOf(x, k) === termOf(y, k)) {
            top = k
            break
          }
        }
        for (let k = lo; k <= top; k++) {
          if (termOf(x, k) !== termOf(y, k) || entryOf(x, k)!.type !== entryOf(y, k)!.type) {
            this.fail(`log matching broken between ${nodes[i]!.id} and ${nodes[j]!.id} at ${k}`)
          }
        }
      }
    }
  }

  /** A new leader of term T holds every entry committed in an earlier term (above its floor). */
  checkLeaderCompleteness(id: NodeId, st: RaftState): void {
    for (const [index, e] of this.committed) {
      if (e.inTerm >= st.term || index <= st.log.floorIndex) continue
      if (termOf(st, index) !== e.term) {
        this.fail(`leader ${id} of term ${st.term} lacks ${index}:${e.term} committed in term ${e.inTerm}`)
      }
    }
  }
}

const stats = { applied: 0, leaders: 0 }
type Bug = "commitPreviousTerm" | "sendBeforePersist" | undefined

const runActions = (actions: readonly Action[], bug: Bug): string | null => {
  const c = new Cluster([...IDS], (cfg) => ({ ...cfg, injectBug: bug, maxEntriesPerAppend: 2 }), [
    "a",
    "b",
    "c",
  ])
  const checker = new Checker()
  c.onApply = (id, e) => {
    const t = checker.applied.get(e.index)
    if (t !== undefined && t !== e.term)
      checker.fail(`${id} applied ${e.index}:${e.term}, another ${e.index}:${t}`)
    checker.applied.set(e.index, e.term)
  }
  let seq = 0
  for (const a of actions) {
    const id = IDS[(a as { n?: number }).n ?? 0]!
    switch (a.t) {
      case "tick":
        c.tick(id)
        break
      case "tickAll":
        for (const n of IDS) c.tick(n)
        break
      case "deliver":
        for (let i = 0; i < a.count && c.queue.length > 0; i++) {
          const [m] = c.queue.splice(a.k % c.queue.length, 1)
          c.step(m!.to, { type: "message", message: m! })
        }
        break
      case "drop":
        if (c.queue.length > 0) c.queue.splice(a.k % c.queue.length, 1)
        break
      case "dup":
        if (c.queue.length > 0) c.queue.push(c.queue[a.k % c.queue.length]!)
        break
      case "propose": {
        // mostly at a leader (others just reject), sometimes anywhere
        const leaders = c.leaders()
        const at = leaders.length > 0 && a.n < 4 ? leaders[a.n % leaders.length]! : id
        c.propose(at, `v${seq++}`, seq)
        break
      }
      case "crash":
        c.restart(id)
        break
      case "slowDisk":
        c.node(id).ackPersist = false
        break
      case "sync":
        c.flushPersist(id)
        break
      case "read":
        c.step(id, { type: "readIndex", id: seq++ })
        break
      case "transfer":
        c.step(id, { type: "transferLeader", to: IDS[a.to]! })
        break
      case "snapshot": {
        const n = c.node(id)
        const index = n.state.applied
        const term = termOf(n.state, index)
        const conf = confStateAt(n.state, index)
        if (index === 0 || term < 0 || conf === null) break
        const snapshot = { meta: { index, term, conf }, data: new Uint8Array(0) }
        n.store.snapshot = snapshot
        c.step(id, { type: "snapshotTaken", snapshot, keepEntries: a.keep })
        break
      }
      case "conf":
        c.step(id, { type: "confChange", id: seq++, change: { type: a.kind, node: IDS[a.target]! } })
        break
    }
    checker.check(c)
    if (checker.failure !== null) return checker.failure
  }
  stats.applied += checker.applied.size
  stats.leaders += checker.leaderOfTerm.size
  // Heal: sync every disk, deliver everything, tick until a leader commits a fresh proposal.
  for (const id of IDS) c.flushPersist(id)
  for (let round = 0; round < 300; round++) {
    c.tickAll(1)
    checker.check(c)
    if (checker.failure !== null) return checker.failure
    const leaders = c.leaders()
    if (leaders.length > 0 && round % 20 === 19) {
      const leader = leaders[leaders.length - 1]!
      const r = c.propose(leader, "final", -1)
      const p = r.proposals[0]
      c.deliverAll()
      c.tickAll(3)
      if (p?.kind === "appended" && c.node(leader).state.commit >= p.index) return checker.failure
    }
  }
  return checker.failure ?? "no progress after healing"
}

describe("raft safety under random faults (property)", () => {
  test(
    "election safety, log matching and state machine safety hold; the cluster recovers",
    () => {
      fc.assert(
        fc.property(fc.array(action, { minLength: 100, maxLength: 400, size: "max" }), (actions) => {
          expect(runActions(actions, undefined)).toBeNull()
        }),
        { numRuns: RUNS, seed: Number(process.env.RAFT_PROP_SEED ?? 42) },
      )
      if (process.env.RAFT_PROP_STATS) console.log(stats)
    },
    Math.max(10_000, RUNS * 50),
  )

  test('the same property catches the injected "sendBeforePersist" bug', () => {
    const result = fc.check(
      fc.property(fc.array(action, { minLength: 100, maxLength: 400, size: "max" }), (actions) => {
        return runActions(actions, "sendBeforePersist") === null
      }),
      { numRuns: 300, seed: 42, endOnFailure: true },
    )
    expect(result.failed).toBe(true)
  })
})
