/**
 * The simulated network between replicas: per-message drop, random latency (hence reordering),
 * duplication, and directed link blocks (a partition, possibly asymmetric). A message crossing a
 * link that is blocked when it is sent or when it arrives is lost.
 */
import type { NodeId } from "../../schemas/raft.ts"
import type { Prng } from "./prng.ts"

export interface NetworkFaults {
  readonly dropRate: number
  readonly duplicateRate: number
  readonly minLatency: number
  readonly maxLatency: number
}

export const calmNetwork: NetworkFaults = { dropRate: 0, duplicateRate: 0, minLatency: 1, maxLatency: 5 }

export class Network {
  faults: NetworkFaults
  private readonly blocked = new Set<string>()
  sent = 0
  dropped = 0
  duplicated = 0

  constructor(
    private readonly rng: Prng,
    faults: NetworkFaults,
  ) {
    this.faults = faults
  }

  /** Delivery delays for one message: [] when dropped, two entries when duplicated. */
  plan(from: NodeId, to: NodeId): number[] {
    this.sent++
    if (this.isBlocked(from, to) || this.rng.chance(this.faults.dropRate)) {
      this.dropped++
      return []
    }
    const delays = [this.latency()]
    if (this.rng.chance(this.faults.duplicateRate)) {
      this.duplicated++
      delays.push(this.latency())
    }
    return delays
  }

  private latency(): number {
    return this.rng.int(this.faults.minLatency, this.faults.maxLatency)
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(`${from}>${to}`)
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`)
  }

  /** Cut `group` off from everyone else, both ways (or only outbound/inbound for asymmetric). */
  isolate(group: readonly NodeId[], all: readonly NodeId[], direction: "both" | "out" | "in"): void {
    for (const a of group)
      for (const b of all) {
        if (group.includes(b)) continue
        if (direction !== "in") this.block(a, b)
        if (direction !== "out") this.block(b, a)
      }
  }

  heal(): void {
    this.blocked.clear()
  }

  describePartition(): string {
    return this.blocked.size === 0 ? "none" : [...this.blocked].sort().join(" ")
  }
}
