/**
 * An in-process network shared by in-memory transports, with fault injection for tests, the
 * simulator, `lattice dev` and the embedded SDK:
 *  - drop, duplicate and delay (uniform in [min, max] ms, which also reorders), globally or per link;
 *  - link blocking: symmetric partitions, asymmetric (one-way) blocks, isolation, and heal;
 *  - disconnect/reconnect of a node from the "broker" (its transport reports `reconnecting`).
 *
 * Randomness comes from a seeded PRNG; delays sleep on Effect's `Clock`, so `TestClock` drives them.
 * Faults are decided when a frame is sent; a frame already in flight still arrives if its
 * destination is attached and connected at arrival time.
 */
import { Effect, type Scope } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import type { ConnectionStateCell } from "./connection-state.ts"
import { NodeAlreadyAttached } from "./errors.ts"
import { makePrng, type Prng } from "./prng.ts"

export interface LinkFaults {
  /** Probability in [0, 1] that a frame (or a request, or a reply) is lost. */
  readonly dropRate: number
  /** Probability in [0, 1] that a frame is delivered twice. */
  readonly duplicateRate: number
  readonly minDelayMillis: number
  readonly maxDelayMillis: number
}

export const noFaults: LinkFaults = { dropRate: 0, duplicateRate: 0, minDelayMillis: 0, maxDelayMillis: 0 }

export interface NetworkStats {
  readonly framesDelivered: number
  readonly framesDropped: number
  readonly framesBlocked: number
  readonly framesDuplicated: number
}

/** What a transport attaches to the network. */
export interface Endpoint {
  readonly node: NodeId
  readonly receiveFrame: (frame: Uint8Array) => Effect.Effect<void>
  /** Service name → runs an encoded request and returns the encoded reply. */
  readonly services: Map<string, (request: Uint8Array) => Effect.Effect<Uint8Array>>
  readonly connection: ConnectionStateCell
  /** Where deliveries to this node and its handlers run; closed when the transport closes. */
  readonly scope: Scope.Scope
}

const linkKey = (from: NodeId, to: NodeId) => `${from}\u0000${to}`

export class InMemoryNetwork {
  private readonly endpoints = new Map<NodeId, Endpoint>()
  private readonly blockedLinks = new Set<string>()
  private readonly isolated = new Set<NodeId>()
  private readonly disconnected = new Set<NodeId>()
  private readonly linkFaults = new Map<string, LinkFaults>()
  private readonly prng: Prng
  private faults: LinkFaults
  private readonly counters = { framesDelivered: 0, framesDropped: 0, framesBlocked: 0, framesDuplicated: 0 }

  constructor(options: { readonly seed?: number; readonly faults?: Partial<LinkFaults> } = {}) {
    this.prng = makePrng(options.seed ?? 1)
    this.faults = validateFaults({ ...noFaults, ...options.faults })
  }

  // ---- fault injection -------------------------------------------------------------------

  /** Sets the faults of every link that has no override of its own. */
  setFaults(faults: Partial<LinkFaults>): void {
    this.faults = validateFaults({ ...this.faults, ...faults })
  }

  /** Overrides the faults of the one-way link from → to. */
  setLinkFaults(from: NodeId, to: NodeId, faults: Partial<LinkFaults>): void {
    this.linkFaults.set(linkKey(from, to), validateFaults({ ...this.faultsOf(from, to), ...faults }))
  }

  clearFaults(): void {
    this.faults = noFaults
    this.linkFaults.clear()
  }

  /** One-way block: frames, requests and replies from → to are lost; to → from still flows. */
  blockLink(from: NodeId, to: NodeId): void {
    this.blockedLinks.add(linkKey(from, to))
  }

  unblockLink(from: NodeId, to: NodeId): void {
    this.blockedLinks.delete(linkKey(from, to))
  }

  /** Blocks both directions between every pair of nodes on different sides. */
  partition(...sides: ReadonlyArray<readonly NodeId[]>): void {
    sides.forEach((side, i) => {
      for (const other of sides.slice(i + 1)) {
        for (const a of side) {
          for (const b of other) {
            this.blockLink(a, b)
            this.blockLink(b, a)
          }
        }
      }
    })
  }

  /** Cuts `node` off from every other node, including ones attached later. */
  isolate(node: NodeId): void {
    this.isolated.add(node)
  }

  /** Removes every block, partition and isolation (faults such as drop rates stay). */
  heal(): void {
    this.blockedLinks.clear()
    this.isolated.clear()
  }

  /** The node loses its broker connection: its transport reports `reconnecting` and queues outbound. */
  disconnect(node: NodeId): void {
    this.disconnected.add(node)
    const endpoint = this.endpoints.get(node)
    if (endpoint) Effect.runSync(endpoint.connection.set("reconnecting"))
  }

  reconnect(node: NodeId): void {
    this.disconnected.delete(node)
    const endpoint = this.endpoints.get(node)
    if (endpoint) Effect.runSync(endpoint.connection.set("connected"))
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blockedLinks.has(linkKey(from, to)) || this.isolated.has(from) || this.isolated.has(to)
  }

  isConnected(node: NodeId): boolean {
    return !this.disconnected.has(node)
  }

  stats(): NetworkStats {
    return { ...this.counters }
  }

  // ---- used by in-memory transports ------------------------------------------------------

  /** Attaches `endpoint` until the scope closes. */
  attach(endpoint: Endpoint): Effect.Effect<void, NodeAlreadyAttached, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        if (this.endpoints.has(endpoint.node))
          return Effect.fail(new NodeAlreadyAttached({ node: endpoint.node }))
        this.endpoints.set(endpoint.node, endpoint)
        return endpoint.connection.set(this.isConnected(endpoint.node) ? "connected" : "reconnecting")
      }),
      () => Effect.sync(() => this.endpoints.delete(endpoint.node)),
    )
  }

  /** The endpoint of `node` if it is attached and connected. */
  reachableEndpoint(node: NodeId): Endpoint | undefined {
    return this.isConnected(node) ? this.endpoints.get(node) : undefined
  }

  /**
   * Sends `bytes` over the link from → to with its faults; `arrive` runs on the destination's
   * endpoint when (and if) it arrives. Delayed copies wait in fibers of `scope` (the sender's).
   */
  transmit(
    from: NodeId,
    to: NodeId,
    bytes: Uint8Array,
    scope: Scope.Scope,
    arrive: (endpoint: Endpoint, bytes: Uint8Array) => Effect.Effect<void>,
  ): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.isBlocked(from, to)) {
        this.counters.framesBlocked++
        return Effect.void
      }
      const faults = this.faultsOf(from, to)
      if (faults.dropRate > 0 && this.prng.next() < faults.dropRate) {
        this.counters.framesDropped++
        return Effect.void
      }
      const copies = faults.duplicateRate > 0 && this.prng.next() < faults.duplicateRate ? 2 : 1
      if (copies === 2) this.counters.framesDuplicated++
      const deliverOnce = Effect.suspend(() => {
        const endpoint = this.reachableEndpoint(to)
        if (!endpoint) {
          this.counters.framesDropped++
          return Effect.void
        }
        this.counters.framesDelivered++
        return arrive(endpoint, bytes)
      })
      return Effect.forEach(
        Array.from({ length: copies }, () => this.sampleDelay(faults)),
        (delay) => (delay === 0 ? deliverOnce : Effect.forkIn(Effect.delay(deliverOnce, delay), scope)),
        { discard: true },
      )
    })
  }

  private faultsOf(from: NodeId, to: NodeId): LinkFaults {
    return this.linkFaults.get(linkKey(from, to)) ?? this.faults
  }

  private sampleDelay(faults: LinkFaults): number {
    const span = faults.maxDelayMillis - faults.minDelayMillis
    return span === 0
      ? faults.minDelayMillis
      : faults.minDelayMillis + Math.floor(this.prng.next() * (span + 1))
  }
}

const validateFaults = (faults: LinkFaults): LinkFaults => {
  const rate = (name: string, value: number) => {
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1]: ${value}`)
  }
  rate("dropRate", faults.dropRate)
  rate("duplicateRate", faults.duplicateRate)
  if (!(faults.minDelayMillis >= 0 && faults.maxDelayMillis >= faults.minDelayMillis)) {
    throw new RangeError(
      `delay must satisfy 0 <= min <= max: ${faults.minDelayMillis}..${faults.maxDelayMillis}`,
    )
  }
  return faults
}
