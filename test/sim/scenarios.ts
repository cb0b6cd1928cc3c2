/**
 * Targeted fault schedules: random chaos rarely lines up the exact interleavings that expose
 * some bugs, so these scripts build them on purpose. Each is safe for a correct core (the run must
 * still pass) and exposes one class of bug.
 */
import type { NodeId } from "../../schemas/raft.ts"
import type { LogImage } from "./log-image.ts"
import type { SimNode } from "./sim-node.ts"
import type { Simulation } from "./simulation.ts"

const firstIndexOfTerm = (log: LogImage, term: number): number => {
  for (let i = log.floor + 1; i <= log.lastIndex; i++) if (log.termAt(i) === term) return i
  return log.lastIndex + 1
}

/**
 * Figure 8 of the Raft paper (commit rule). With one entry per append:
 *  1. leader L1 and follower F are cut off; L1 keeps appending client writes (term a) that reach F only;
 *  2. the majority elects M (term b) and M is isolated at once, holding its own entry at index i;
 *  3. L1/F/X/Y reconnect; a node of term-a log wins term c and re-replicates the term-a entries.
 *     A correct leader commits index i only together with an entry of term c on a majority;
 *  4. as soon as that leader's commit reaches i, L1 and F are cut off and M reconnects. M can win
 *     only if no majority holds a term-c entry, i.e. only if index i was committed too early; it
 *     then overwrites the committed entry (leader completeness / state-machine safety).
 */
export const figure8 = (sim: Simulation): void => {
  sim.after(400, () => {
    const l1 = sim.leader()
    if (l1 === null) return
    const all = sim.memberNodes().map((n) => n.id)
    const others = all.filter((id) => id !== l1.id)
    const f = others[0]!
    const majority = others.slice(1).map((id) => sim.nodes.get(id)!)
    const termA = l1.soft.term
    sim.network.isolate([l1.id, f], all, "both")
    sim.trace(`figure 8: {${l1.id},${f}} cut off from {${majority.map((n) => n.id).join(",")}}`)
    const newLeader = () => majority.find((n) => n.alive && n.role === "leader" && n.soft.term > termA)
    sim.when(
      () => newLeader() !== undefined,
      () => {
        const m = newLeader()!
        sim.network.heal()
        sim.network.isolate([m.id], all, "both")
        const i = firstIndexOfTerm(m.live, m.soft.term)
        sim.trace(`figure 8: ${m.id} leads term ${m.soft.term} with its entry at ${i}; isolated`)
        const committer = (): SimNode | undefined =>
          sim.aliveNodes().find((n) => n.role === "leader" && n.soft.term > m.soft.term && n.commitIndex >= i)
        sim.when(
          () => committer() !== undefined,
          () => {
            const n = committer()!
            sim.trace(
              `figure 8: ${n.id} (term ${n.soft.term}) committed ${i}; cut {${l1.id},${f}}, reconnect ${m.id}`,
            )
            sim.network.heal()
            sim.network.isolate([l1.id, f], all, "both")
          },
        )
      },
    )
  })
}

/**
 * The persist-before-send window: the leader's disk is slow and it sends its appends early (which
 * the contract allows because a correct leader counts its own log only once durable). One follower
 * is cut off. If the leader ever commits past its durable log, it is crashed at that instant and
 * the follower holding the entries is cut off: the entry is committed but survives nowhere else.
 */
export const persistWindow = (sim: Simulation): void => {
  sim.after(400, () => {
    const leader = sim.leader()
    if (leader === null) return
    const all: NodeId[] = sim.memberNodes().map((n) => n.id)
    const [f, t] = all.filter((id) => id !== leader.id) as [NodeId, NodeId]
    sim.setPersistDelay(leader.id, 40)
    sim.network.isolate([t], all, "both")
    sim.trace(`persist window: ${leader.id} has a slow disk, ${t} cut off`)
    sim.when(
      () => leader.alive && leader.commitIndex > leader.durable.lastIndex,
      () => {
        sim.trace(
          `persist window: ${leader.id} committed ${leader.commitIndex} with durable ${leader.durable.lastIndex}`,
        )
        sim.crash(leader, 10)
        sim.network.heal()
        sim.network.isolate([f], all, "both")
      },
    )
  })
}

/**
 * Reads right after a failover. Whenever the leader advances its commit index, it is crashed at
 * that instant (its followers hold the entries but have not heard they are committed, while the
 * client has its acknowledgement). The moment a new leader appears, every key is read from it. A
 * new leader's commit index is stale until it commits an entry of its own term, so a core that
 * serves ReadIndex before that returns values older than acknowledged writes.
 */
export const readAfterFailover = (sim: Simulation): void => {
  const round = (): void => {
    if (sim.now > sim.faultEnd - 600) return
    const leader = sim.leader()
    if (leader === null) {
      sim.after(50, round)
      return
    }
    const startCommit = leader.commitIndex
    sim.when(
      () => !leader.alive || leader.role !== "leader" || leader.commitIndex > startCommit,
      () => {
        if (!leader.alive || leader.role !== "leader") return sim.after(50, round)
        const term = leader.soft.term
        sim.trace(`read after failover: ${leader.id} committed ${leader.commitIndex}; crash it`)
        // Its messages announcing the new commit index are still in flight: lose them too.
        const all = sim.memberNodes().map((n) => n.id)
        sim.network.isolate([leader.id], all, "out")
        sim.crash(leader, 300)
        sim.when(
          () => sim.leader() !== null && sim.leader()!.soft.term > term,
          () => {
            const next = sim.leader()!
            sim.network.heal()
            sim.trace(`read after failover: probing new leader ${next.id}`)
            for (const key of sim.keys) sim.probeRead(next.id, key)
            sim.after(300, round)
          },
        )
      },
    )
  }
  sim.after(300, round)
}

/**
 * A lost vote (5 nodes, before any leader exists). n1 is cut from n3 and n5, n3 from n4. n1
 * campaigns and wins with n2 and n4. The moment n2's vote is durable, n2 crashes and restarts at
 * once, and n1's messages stop reaching it. Then n3 campaigns in the same term and asks n2 and n5. A core that keeps
 * its vote refuses; a core that forgets it elects a second leader in the term (election safety).
 */
export const doubleVote = (sim: Simulation): void => {
  const net = sim.network
  const cut = (a: NodeId, b: NodeId) => {
    net.block(a, b)
    net.block(b, a)
  }
  sim.after(1, () => {
    const [a, b, c, d, e] = ["n1", "n2", "n3", "n4", "n5"].map((id) => sim.nodes.get(id)!) as [
      SimNode,
      SimNode,
      SimNode,
      SimNode,
      SimNode,
    ]
    cut(a.id, c.id)
    cut(a.id, e.id)
    cut(c.id, d.id)
    a.campaign()
    const term = a.soft.term
    sim.trace(`double vote: ${a.id} campaigns in term ${term}`)
    sim.when(
      () => b.durable.hardState.vote === a.id && b.durable.hardState.term === term,
      () => {
        sim.trace(`double vote: ${b.id} voted for ${a.id}; crash and restart it`)
        net.block(a.id, b.id) // n1's appends must not reach n2; n2's vote still reaches n1
        sim.crash(b, 1)
        sim.after(3, () => {
          if (c.soft.term < term) {
            sim.trace(`double vote: ${c.id} campaigns`)
            c.campaign()
          }
        })
      },
    )
    void d
  })
}

export interface Scenario {
  readonly script: (sim: Simulation) => void
  readonly raft?: { readonly maxEntriesPerAppend?: number; readonly maxInflightAppends?: number }
  readonly leaderSendsEarly?: boolean
}

export type ScenarioName = "figure8" | "persistWindow" | "readAfterFailover" | "doubleVote"

export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  doubleVote: { script: doubleVote },
  readAfterFailover: { script: readAfterFailover },
  figure8: { script: figure8, raft: { maxEntriesPerAppend: 1, maxInflightAppends: 1 } },
  persistWindow: { script: persistWindow, leaderSendsEarly: true },
}
