/**
 * etcd's Lease service over a node: TTLs in seconds on the wire, milliseconds inside. A TTL below
 * etcd's minimum (ceil(1.5 election timeouts), in seconds) is raised to it, as etcd does; TTLs
 * below a second are for the millisecond APIs (`src/node/leases.ts`). Lease ids are int64 on the
 * wire and inside (bigint, see schemas/kv.ts).
 */
import { Effect } from "effect"
import { DEFAULT_TENANT, KvError, MAX_LEASE_ID } from "../../schemas/kv.ts"
import type { EtcdLeaseBackend } from "../adapters/etcd/backend.ts"
import { EtcdErrors, toEtcdError } from "../adapters/etcd/errors.ts"
import { etcdErrorOf } from "./etcd-errors.ts"
import { type LeaseFailure, MissingOutcome, type NodeLeases, nodeLeases } from "./leases.ts"
import type { LatticeNode } from "./node.ts"
import { runOrThrow } from "./run-or-throw.ts"

const toEtcd = (e: LeaseFailure) =>
  e instanceof KvError || e instanceof MissingOutcome ? toEtcdError(e) : etcdErrorOf(e)

const seconds = (ms: number): bigint => BigInt(Math.ceil(ms / 1000))

export class NodeEtcdLeases implements EtcdLeaseBackend {
  private readonly ops: NodeLeases
  private readonly minTtlSeconds: bigint

  constructor(node: LatticeNode) {
    this.ops = nodeLeases(node)
    const electionMs = node.options.electionTicks * node.options.tickMs
    this.minTtlSeconds = BigInt(Math.max(1, Math.ceil((1.5 * electionMs) / 1000)))
  }

  /** A wire id as a lease id, or undefined when no lease can have it (0 or negative). */
  private static id(id: bigint): bigint | undefined {
    return id > 0n ? id : undefined
  }

  private run<A>(effect: Effect.Effect<A, LeaseFailure>): Promise<A> {
    return runOrThrow(Effect.mapError(effect, toEtcd))
  }

  async grant(ttl: bigint, id: bigint): Promise<{ id: bigint; ttl: bigint; revision?: bigint }> {
    if (id < 0n || id > MAX_LEASE_ID) throw toEtcdError(new KvError("LeaseIdOutOfRange"))
    const granted = ttl < this.minTtlSeconds ? this.minTtlSeconds : ttl
    const r = await this.run(this.ops.grant(Number(granted) * 1000, id))
    return { id: r.id, ttl: seconds(r.ttlMs), revision: BigInt(r.header.revision) }
  }

  async revoke(id: bigint): Promise<{ revision?: bigint }> {
    const lease = NodeEtcdLeases.id(id)
    if (lease === undefined) throw EtcdErrors.leaseNotFound()
    const r = await this.run(this.ops.revoke(lease))
    return { revision: BigInt(r.header.revision) }
  }

  async renew(id: bigint): Promise<bigint> {
    const lease = NodeEtcdLeases.id(id)
    if (lease === undefined) throw EtcdErrors.leaseNotFound()
    return seconds(await this.run(this.ops.renew(lease)))
  }

  async timeToLive(
    id: bigint,
    keys: boolean,
  ): Promise<{ ttl: bigint; grantedTTL: bigint; keys: Uint8Array[] }> {
    const lease = NodeEtcdLeases.id(id)
    if (lease === undefined) throw EtcdErrors.leaseNotFound()
    const info = await this.run(this.ops.timeToLive(lease))
    return {
      // etcd truncates the remaining duration to whole seconds.
      ttl: BigInt(Math.max(0, Math.floor(info.remainingMs / 1000))),
      grantedTTL: seconds(info.ttlMs),
      keys: keys ? info.keys.filter((k) => k.tenant === DEFAULT_TENANT).map((k) => k.key) : [],
    }
  }

  async list(): Promise<readonly bigint[]> {
    return await this.run(this.ops.list())
  }
}
