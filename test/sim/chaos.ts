/**
 * The fault injector: every `chaosEvery` virtual ms of the fault phase it rolls the profile's dice
 * for partitions, heals, crashes, slow disks, membership changes, leadership transfers and forced
 * campaigns. Everything goes through the Simulation's public controls.
 */
import type { ConfChange } from "../../schemas/raft.ts"
import type { Simulation } from "./simulation.ts"

const maxMembers = 7
const membershipQuietBeforeHeal = 800

export const runChaos = (sim: Simulation): void => {
  const p = sim.options.profile
  const rng = sim.rng
  if (sim.now >= sim.faultEnd) return
  sim.after(p.chaosEvery, () => runChaos(sim))

  if (rng.chance(p.partitionRate)) partition(sim)
  if (rng.chance(p.healRate)) {
    sim.network.heal()
    sim.trace("network heals")
  }
  if (rng.chance(p.crashRate)) {
    const alive = sim.aliveNodes()
    const leader = sim.leader()
    const victim = leader && rng.chance(0.4) ? leader : alive.length > 0 ? rng.pick(alive) : null
    if (victim) sim.crash(victim, rng.int(20, 600))
  }
  if (rng.chance(p.slowDiskRate)) {
    const node = rng.pick(sim.memberNodes())
    const delay = rng.chance(0.3) ? 0 : rng.int(1, p.maxPersistDelay)
    sim.setPersistDelay(node.id, delay)
  }
  const quiet = sim.now > sim.faultEnd - membershipQuietBeforeHeal
  if (!quiet && rng.chance(p.membershipRate)) changeMembership(sim)
  if (!quiet && rng.chance(p.transferRate)) {
    const leader = sim.leader()
    const others = leader ? leader.currentConf().voters.filter((v) => v !== leader.id) : []
    if (leader && others.length > 0) {
      const to = rng.pick(others)
      sim.trace(`transfer leadership ${leader.id} → ${to}`)
      leader.transferLeader(to)
    }
  }
  if (rng.chance(p.campaignRate)) {
    const voters = sim.aliveNodes().filter((n) => n.currentConf().voters.includes(n.id))
    if (voters.length > 0) {
      const node = rng.pick(voters)
      sim.trace(`${node.id} forced to campaign`)
      node.campaign()
    }
  }
}

const partition = (sim: Simulation): void => {
  const rng = sim.rng
  const all = sim.memberNodes().map((n) => n.id)
  if (all.length < 2) return
  const leader = sim.leader()
  const shape = rng.int(0, 3)
  const pickOne = () => (leader && rng.chance(0.5) ? leader.id : rng.pick(all))
  switch (shape) {
    case 0: {
      const node = pickOne()
      sim.network.isolate([node], all, "both")
      sim.trace(`partition: ${node} isolated`)
      return
    }
    case 1: {
      const shuffled = [...all].sort(() => rng.float() - 0.5)
      const minority = shuffled.slice(0, rng.int(1, Math.floor((all.length - 1) / 2) || 1))
      sim.network.isolate(minority, all, "both")
      sim.trace(`partition: {${minority.join(",")}} | rest`)
      return
    }
    case 2: {
      const node = pickOne()
      const direction = rng.chance(0.5) ? "out" : "in"
      sim.network.isolate([node], all, direction)
      sim.trace(`partition: ${node} ${direction === "out" ? "cannot send" : "cannot receive"} (asymmetric)`)
      return
    }
    default: {
      const from = rng.pick(all)
      const to = rng.pick(all.filter((n) => n !== from))
      sim.network.block(from, to)
      sim.trace(`partition: link ${from}→${to} cut`)
    }
  }
}

const changeMembership = (sim: Simulation): void => {
  const rng = sim.rng
  const leader = sim.leader()
  if (leader === null) return
  const conf = leader.currentConf()
  const options: ConfChange[] = []
  if (conf.voters.length + conf.learners.length < maxMembers) options.push({ type: "addLearner", node: "" })
  for (const l of conf.learners) options.push({ type: "addVoter", node: l }, { type: "addVoter", node: l })
  if (conf.voters.length > 3) {
    for (const v of conf.voters) options.push({ type: "removeNode", node: v })
    // Removing the leader is the interesting case: weigh it up.
    options.push({ type: "removeNode", node: leader.id }, { type: "removeNode", node: leader.id })
    // A drained node becomes an observer; the leader demoting itself is the drain of a leader
    // whose transfer timed out.
    for (const v of conf.voters) options.push({ type: "demoteToLearner", node: v })
  }
  for (const l of conf.learners) options.push({ type: "removeNode", node: l })
  if (options.length === 0) return
  let change = rng.pick(options)
  if (change.node === "") {
    const id = sim.newNodeId()
    sim.addNode(id)
    change = { type: "addLearner", node: id }
  }
  if (change.type !== "addVoter" && change.type !== "addLearner" && change.node === leader.id)
    sim.stats.leaderRemovalsProposed++
  sim.trace(`conf change via ${leader.id}: ${change.type} ${change.node}`)
  leader.proposeConfChange(change)
}
