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

export interface Scenario {
  readonly script: (sim: Simulation) => void
  readonly raft?: { readonly maxEntriesPerAppend?: number; readonly maxInflightAppends?: number }
  readonly leaderSendsEarly?: boolean
}

export const scenarios: Readonly<Record<"figure8" | "persistWindow", Scenario>> = {
  figure8: { script: figure8, raft: { maxEntriesPerAppend: 1, maxInflightAppends: 1 } },
  persistWindow: { script: persistWindow, leaderSendsEarly: true },
}
