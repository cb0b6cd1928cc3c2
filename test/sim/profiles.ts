/**
 * Fault mixes. A run picks one profile (by name, or from its seed) and draws every fault from it.
 * Rates are per chaos tick (every `chaosEvery` virtual ms during the fault phase).
 */
import type { NetworkFaults } from "./network.ts"
import type { ScenarioName } from "./scenarios.ts"

export interface Profile {
  readonly name: string
  /** Initial voters. */
  readonly nodes: 3 | 5
  readonly network: NetworkFaults
  readonly chaosEvery: number
  readonly partitionRate: number
  readonly healRate: number
  readonly crashRate: number
  /** Probability a Ready's persistence is delayed (the persist-before-send window), and by how much. */
  readonly slowDiskRate: number
  readonly maxPersistDelay: number
  /** Max relative clock skew: a node's tick interval is scaled by a factor in [1/(1+s), 1+s]. */
  readonly skew: number
  readonly membershipRate: number
  readonly transferRate: number
  readonly campaignRate: number
  /**
   * Probability that an append is also delivered as a forged copy from another Raft group (same
   * term, different entry content): a core that does not filter by group corrupts its log.
   */
  readonly misrouteRate: number
  /** A targeted fault schedule (see scenarios.ts) run on top of the chaos. */
  readonly scenario?: ScenarioName
}

const calmNet: NetworkFaults = { dropRate: 0, duplicateRate: 0, minLatency: 1, maxLatency: 5 }
const lossyNet: NetworkFaults = { dropRate: 0.15, duplicateRate: 0.1, minLatency: 1, maxLatency: 40 }

const base: Profile = {
  name: "calm",
  nodes: 3,
  network: calmNet,
  chaosEvery: 150,
  partitionRate: 0,
  healRate: 0,
  crashRate: 0,
  slowDiskRate: 0,
  maxPersistDelay: 0,
  skew: 0,
  membershipRate: 0,
  transferRate: 0,
  campaignRate: 0,
  misrouteRate: 0,
}

export const profiles: Readonly<Record<string, Profile>> = {
  calm: base,
  lossy: { ...base, name: "lossy", nodes: 5, network: lossyNet, misrouteRate: 0.02 },
  partitions: { ...base, name: "partitions", nodes: 5, partitionRate: 0.35, healRate: 0.3 },
  crashes: { ...base, name: "crashes", crashRate: 0.25, slowDiskRate: 0.5, maxPersistDelay: 15 },
  membership: { ...base, name: "membership", membershipRate: 0.6, transferRate: 0.15, campaignRate: 0.1 },
  skew: {
    ...base,
    name: "skew",
    nodes: 5,
    skew: 0.6,
    network: { ...calmNet, maxLatency: 15 },
    campaignRate: 0.05,
    misrouteRate: 0.01,
  },
  everything: {
    ...base,
    name: "everything",
    nodes: 5,
    network: { dropRate: 0.08, duplicateRate: 0.05, minLatency: 1, maxLatency: 30 },
    partitionRate: 0.2,
    healRate: 0.25,
    crashRate: 0.12,
    slowDiskRate: 0.4,
    maxPersistDelay: 12,
    skew: 0.4,
    membershipRate: 0.15,
    transferRate: 0.08,
    campaignRate: 0.05,
    misrouteRate: 0.01,
  },
  figure8: { ...base, name: "figure8", nodes: 5, scenario: "figure8" },
  persistWindow: { ...base, name: "persistWindow", scenario: "persistWindow" },
  readAfterFailover: { ...base, name: "readAfterFailover", scenario: "readAfterFailover" },
  doubleVote: { ...base, name: "doubleVote", nodes: 5, scenario: "doubleVote" },
}

export const profileNames = Object.keys(profiles)

/** The profile a seed uses when none is named: a fixed rotation, so any seed range covers all. */
export const profileForSeed = (seed: number): Profile => profiles[profileNames[seed % profileNames.length]!]!
