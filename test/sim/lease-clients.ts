/**
 * Lease clients in the simulator, alongside the register clients (their keys never overlap, so
 * the linearizability check is unaffected; the watch clients see their puts and deletions).
 *
 *  - session clients: grant a lease with a millisecond TTL (client-chosen id), keep it alive,
 *    put keys with it, revoke it, or stop renewing and let it expire;
 *  - lock clients: the etcd lock recipe on a lease (create the lock key if absent, with the
 *    lease); a holder keeps its lease alive for a few rounds, then releases (revoke) or walks
 *    away (expiry). A client told it holds the lock must have been told its epoch's token.
 *
 * Every operation is idempotent (fixed lease ids, unique lock values), so a timed-out attempt is
 * simply sent again. The checks themselves are in lease-oracle.ts.
 */
import type { NodeId } from "../../schemas/raft.ts"
import { opDeadline, writeAttemptTimeout } from "./clients.ts"
import { Violation } from "./invariants.ts"
import { type LeaseOracle, LOCK_KEY } from "./lease-oracle.ts"
import type { Prng } from "./prng.ts"
import type { ApplyResult, LeaseCommand } from "./register-machine.ts"
import type { ClientRequest, NodeResponse, SimNode } from "./sim-node.ts"

/** What a lease client asks (the tick is the leader's, not a client's). */
export type LeaseInput = LeaseCommand extends infer C
  ? C extends { readonly op: "tick" }
    ? never
    : Omit<C, "clientOpId">
  : never

/** Client ids from here on are lease clients (the register clients count from 0). */
export const LEASE_CLIENT_BASE = 1000

/** Millisecond TTLs: the sim's leader ticks every 30 ms of its clock. */
const TTLS = [20, 40, 80, 150, 300]

export interface LeaseClientHost {
  readonly rng: Prng
  readonly now: number
  readonly oracle: LeaseOracle
  after(delay: number, run: () => void): void
  memberNodes(): SimNode[]
  node(id: NodeId): SimNode | undefined
  deliverRequest(node: NodeId, request: ClientRequest): void
  /** Throws a liveness violation when an operation called after the cluster healed fails. */
  requireProgress(call: number, what: string): void
  /** No new operations from this time on. */
  readonly stopClientsAt: number
  trace(line: string): void
}

interface InFlight {
  readonly input: LeaseInput
  readonly call: number
  reqId: number
}

interface LeaseClient {
  readonly id: number
  readonly kind: "session" | "lock"
  lease: number
  ttl: number
  seq: number
  op: InFlight | null
  leaderHint: NodeId | null
  /** Lock clients: the value it holds the lock with, and renewals left before releasing. */
  holding: string | null
  renewalsLeft: number
}

export class SimLeaseClients {
  private readonly clients: LeaseClient[]
  private nextReqId = 1
  ops = 0
  lockEpochs = 0

  constructor(
    private readonly host: LeaseClientHost,
    sessions: number,
    lockers: number,
  ) {
    this.clients = Array.from({ length: sessions + lockers }, (_, i) => ({
      id: LEASE_CLIENT_BASE + i,
      kind: i < sessions ? "session" : "lock",
      lease: 0,
      ttl: 0,
      seq: 0,
      op: null,
      leaderHint: null,
      holding: null,
      renewalsLeft: 0,
    }))
  }

  start(): void {
    for (const c of this.clients) this.host.after(this.host.rng.int(0, 100), () => this.next(c))
  }

  get idle(): boolean {
    return this.clients.every((c) => c.op === null)
  }

  private client(id: number): LeaseClient | undefined {
    return this.clients[id - LEASE_CLIENT_BASE]
  }

  /** Picks and sends the client's next operation. */
  private next(c: LeaseClient): void {
    if (this.host.now >= this.host.stopClientsAt || c.op !== null) return
    const rng = this.host.rng
    let input: LeaseInput
    if (c.lease === 0) {
      c.ttl = rng.pick(TTLS)
      c.lease = (c.id - LEASE_CLIENT_BASE + 1) * 1_000_000 + ++c.seq
      input = { op: "grant", lease: c.lease, ttl: c.ttl }
    } else if (c.kind === "lock") {
      if (c.holding === null) {
        input = rng.chance(0.5)
          ? { op: "acquire", key: LOCK_KEY, value: `k${c.id}.${++c.seq}`, lease: c.lease }
          : { op: "renew", lease: c.lease }
      } else if (c.renewalsLeft-- > 0) input = { op: "renew", lease: c.lease }
      else if (rng.chance(0.6)) input = { op: "revoke", lease: c.lease }
      else {
        // Walk away: the lease (and the lock) expire.
        this.host.trace(`lease client ${c.id} stops renewing lease ${c.lease} (lock ${c.holding})`)
        c.lease = 0
        c.holding = null
        this.host.after(rng.int(0, 20), () => this.next(c))
        return
      }
    } else {
      const roll = rng.float()
      if (roll < 0.45) input = { op: "renew", lease: c.lease }
      else if (roll < 0.75)
        input = {
          op: "leasedPut",
          key: `s${c.id}/${rng.int(0, 3)}`,
          value: `${c.id}.${++c.seq}`,
          lease: c.lease,
        }
      else if (roll < 0.85) input = { op: "revoke", lease: c.lease }
      else {
        this.host.trace(`lease client ${c.id} stops renewing lease ${c.lease}`)
        c.lease = 0
        this.host.after(rng.int(0, 20), () => this.next(c))
        return
      }
    }
    c.op = { input, call: this.host.now, reqId: -1 }
    this.send(c)
  }

  private send(c: LeaseClient): void {
    const op = c.op!
    const hinted = c.leaderHint ? this.host.node(c.leaderHint) : undefined
    const target = hinted && !hinted.removed ? hinted : this.host.rng.pick(this.host.memberNodes())
    c.leaderHint = null
    op.reqId = this.nextReqId++
    const request: ClientRequest = {
      reqId: op.reqId,
      client: c.id,
      input: op.input,
      clientOpId: `l${c.id}.${op.reqId}`,
    }
    this.host.deliverRequest(target.id, request)
    const reqId = op.reqId
    this.host.after(writeAttemptTimeout, () => {
      if (c.op === op && op.reqId === reqId) this.retry(c, `timed out at ${target.id}`)
    })
  }

  /** Every lease operation is idempotent: send it again, unless it has run out of time. */
  private retry(c: LeaseClient, why: string): void {
    const op = c.op!
    if (this.host.now - op.call < opDeadline) {
      this.send(c)
      return
    }
    this.host.requireProgress(op.call, `lease client ${c.id} ${op.input.op} ${why}`)
    c.op = null
    this.host.after(this.host.rng.int(0, 10), () => this.next(c))
  }

  onResponse(clientId: number, reqId: number, response: NodeResponse): void {
    const c = this.client(clientId)
    const op = c?.op
    if (c === undefined || op === null || op === undefined || op.reqId !== reqId) return
    if (response.kind === "retry") {
      c.leaderHint = response.leader
      this.host.after(this.host.rng.int(2, 15), () => {
        if (c.op === op && op.reqId === reqId) this.retry(c, `rejected: ${response.reason}`)
      })
      return
    }
    c.op = null
    this.ops++
    this.done(c, op.input, response.output as ApplyResult)
  }

  private done(c: LeaseClient, input: LeaseInput, out: ApplyResult): void {
    const rng = this.host.rng
    // Keep-alives come every quarter to half of the TTL; other steps follow quickly.
    let delay = rng.int(0, 10)
    switch (out.op) {
      case "renew":
        if (out.ttl < 0) {
          c.lease = 0
          c.holding = null
        } else delay = rng.int(Math.floor(c.ttl / 4), Math.floor(c.ttl / 2))
        break
      case "leasedPut":
        if (!out.ok) c.lease = 0
        break
      case "revoke":
        c.lease = 0
        c.holding = null
        break
      case "acquire": {
        if (input.op !== "acquire" || out.holder !== input.value) {
          delay = rng.int(Math.floor(c.ttl / 4), Math.floor(c.ttl / 2))
          break
        }
        const token = this.host.oracle.tokenOf(input.value)
        if (token !== out.token)
          throw new Violation(
            "lock",
            `client ${c.id} is told it holds the lock as ${input.value} with token ${out.token}; its epoch's token is ${token ?? "none"}`,
          )
        c.holding = input.value
        c.renewalsLeft = rng.int(1, 5)
        this.lockEpochs++
        break
      }
      default:
        break
    }
    this.host.after(delay, () => this.next(c))
  }
}
