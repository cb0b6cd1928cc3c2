/**
 * The real Raft core over the in-memory transport: three nodes, several groups sharing each
 * node's transport, with drops, duplicates and delays. Proves the transport carries the core's
 * own messages (not just hand-written samples) well enough for elections and replication.
 */
import { describe, expect } from "bun:test"
import { Effect, Queue, TestClock } from "effect"
import type { NodeId } from "../../../schemas/raft.ts"
import {
  type Input,
  initRaft,
  lastIndexOf,
  lastTermOf,
  type Message,
  type RaftState,
  step,
} from "../../../src/raft/index.ts"
import { makeInMemoryTransport } from "../../../src/transport/in-memory.ts"
import { InMemoryNetwork } from "../../../src/transport/in-memory-network.ts"
import { itEffect } from "../../support/effect-test.ts"
import { settle } from "./helpers.ts"

const nodes = ["n1", "n2", "n3"] as const
const groups = [0, 1, 2, 3]

interface Replica {
  state: RaftState
  leader: NodeId | null
  readonly committed: string[]
}

const makeNode = (network: InMemoryNetwork, id: NodeId) =>
  Effect.gen(function* () {
    const transport = yield* makeInMemoryTransport(network, id)
    const replicas = new Map<number, Replica>()
    for (const group of groups) {
      const state = initRaft(
        {
          group,
          id,
          electionTicks: 10,
          heartbeatTicks: 2,
          preVote: true,
          checkQuorum: true,
          maxEntriesPerAppend: 64,
          maxInflightAppends: 8,
          seed: group * 31 + id.charCodeAt(1),
        },
        {
          hardState: { term: 0, vote: null, commit: 0 },
          snapshot: null,
          entries: [],
          bootstrapConf: { voters: [...nodes], learners: [], votersOutgoing: [] },
        },
      )
      replicas.set(group, { state, leader: null, committed: [] })
    }
    return { id, transport, replicas }
  })

type Node = Effect.Effect.Success<ReturnType<typeof makeNode>>

/** Steps one input and runs the caller's loop: persist (instant), send, acknowledge, apply. */
const drive = (node: Node, group: number, first: Input) =>
  Effect.gen(function* () {
    const replica = node.replicas.get(group)!
    const work: Input[] = [first]
    while (work.length > 0) {
      const [state, ready] = step(replica.state, work.shift()!)
      replica.state = state
      if (ready.softState) replica.leader = ready.softState.leader
      if (ready.entries.length > 0 || ready.hardState !== null || ready.snapshot !== null) {
        work.push({ type: "persisted", index: lastIndexOf(state), term: lastTermOf(state) })
      }
      const byPeer = new Map<NodeId, Message[]>()
      for (const m of ready.messages) byPeer.set(m.to, [...(byPeer.get(m.to) ?? []), m])
      for (const [to, messages] of byPeer) yield* node.transport.sendRaft(to, messages)
      for (const entry of ready.committedEntries) {
        if (entry.type === "normal") replica.committed.push(new TextDecoder().decode(entry.data))
      }
      const lastCommitted = ready.committedEntries.at(-1)
      if (lastCommitted) work.push({ type: "applied", index: lastCommitted.index })
    }
  })

/** One millisecond of cluster time: tick every group, let frames move, deliver the inboxes. */
const round = (cluster: readonly Node[], tick: boolean) =>
  Effect.gen(function* () {
    if (tick)
      for (const node of cluster) for (const group of groups) yield* drive(node, group, { type: "tick" })
    yield* settle
    yield* TestClock.adjust("1 millis")
    yield* settle
    for (const node of cluster) {
      const inbox: readonly Message[] = Array.from(yield* Queue.takeAll(node.transport.raftInbox))
      for (const message of inbox) yield* drive(node, message.group, { type: "message", message })
    }
  })

const leaderOf = (cluster: readonly Node[], group: number): Node | undefined =>
  cluster.find((n) => n.replicas.get(group)!.state.role === "leader")

const runUntil = (cluster: readonly Node[], done: () => boolean, what: string, maxRounds = 600) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxRounds; i++) {
      if (done()) return
      yield* round(cluster, i % 3 === 0) // a tick every 3 ms of network time
    }
    return yield* Effect.dieMessage(`${what} did not happen within ${maxRounds} rounds`)
  })

describe("the Raft core over the in-memory transport", () => {
  itEffect(
    "elects a leader in every group and replicates a write to all nodes despite drops, duplicates and delays",
    () =>
      Effect.gen(function* () {
        const network = new InMemoryNetwork({
          seed: 11,
          faults: { dropRate: 0.05, duplicateRate: 0.05, minDelayMillis: 0, maxDelayMillis: 3 },
        })
        const cluster = yield* Effect.forEach(nodes, (id) => makeNode(network, id))
        yield* runUntil(cluster, () => groups.every((g) => leaderOf(cluster, g) !== undefined), "elections")

        for (const group of groups) {
          const leader = leaderOf(cluster, group)!
          yield* drive(leader, group, {
            type: "propose",
            id: group,
            data: new TextEncoder().encode(`hello-${group}`),
          })
        }
        const everywhere = () =>
          groups.every((g) => cluster.every((n) => n.replicas.get(g)!.committed.includes(`hello-${g}`)))
        yield* runUntil(cluster, everywhere, "replication of one write per group")

        // Many groups share each node's transport: frames carried messages of several groups.
        const stats = yield* cluster[0]!.transport.stats
        expect(stats.messagesSent).toBeGreaterThan(stats.framesSent)
        expect(stats.framesRejected).toBe(0)
        expect(network.stats().framesDropped).toBeGreaterThan(0)
      }),
    30_000,
  )

  itEffect(
    "after its leader is isolated, a group elects a new leader and commits; healing brings the old one up to date",
    () =>
      Effect.gen(function* () {
        const network = new InMemoryNetwork({ seed: 5, faults: { minDelayMillis: 0, maxDelayMillis: 2 } })
        const cluster = yield* Effect.forEach(nodes, (id) => makeNode(network, id))
        const group = 1
        yield* runUntil(cluster, () => leaderOf(cluster, group) !== undefined, "the first election")
        const old = leaderOf(cluster, group)!
        network.isolate(old.id)
        const others = cluster.filter((n) => n !== old)
        yield* runUntil(
          cluster,
          () => others.some((n) => n.replicas.get(group)!.state.role === "leader"),
          "an election among the majority",
        )
        const fresh = others.find((n) => n.replicas.get(group)!.state.role === "leader")!
        yield* drive(fresh, group, {
          type: "propose",
          id: 1,
          data: new TextEncoder().encode("after-failover"),
        })
        yield* runUntil(
          cluster,
          () => others.every((n) => n.replicas.get(group)!.committed.includes("after-failover")),
          "commit on the majority",
        )
        expect(old.replicas.get(group)!.committed).not.toContain("after-failover")
        network.heal()
        yield* runUntil(
          cluster,
          () => old.replicas.get(group)!.committed.includes("after-failover"),
          "the old leader catching up",
        )
        expect(old.replicas.get(group)!.state.role).not.toBe("leader")
      }),
    30_000,
  )
})
