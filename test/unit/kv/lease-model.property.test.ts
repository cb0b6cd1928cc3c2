/**
 * The lease model check (fast-check). Clients compete for a lock key the etcd way (grant a lease,
 * then `txn: CREATE(lock) == 0 → put lock with the lease`), renew, release (revoke) and wait,
 * while the leader's ticks move the committed clock. After every step:
 *  - at most one holder per lease epoch: only the lease on the lock key's live version may think
 *    it holds the lock, and that lease is alive;
 *  - fencing tokens (the lock key's create revision at each successful acquire) strictly increase;
 *  - no lease expires before its TTL in committed time (its last grant/renewal + TTL), and none
 *    outlives its deadline past the next tick;
 * and a replica applying the same entries reaches the same state (hash).
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import type { KvCommand } from "../../../schemas/kv.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

type Action =
  | { readonly kind: "acquire"; readonly client: number; readonly ttlMs: number }
  | { readonly kind: "renew"; readonly client: number }
  | { readonly kind: "release"; readonly client: number }
  | { readonly kind: "advance"; readonly ms: number }

const CLIENTS = 3
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("acquire" as const),
    client: fc.nat(CLIENTS - 1),
    ttlMs: fc.integer({ min: 50, max: 600 }),
  }),
  fc.record({ kind: fc.constant("renew" as const), client: fc.nat(CLIENTS - 1) }),
  fc.record({ kind: fc.constant("release" as const), client: fc.nat(CLIENTS - 1) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 300 }) }),
)

const LOCK = b("lock")

interface ClientState {
  lease: bigint
  holds: boolean
}

/** `sabotage` runs after each step: a way to prove the check can fail. */
const check = (actions: readonly Action[], sabotage?: (f: Fixture, step: number) => void): void => {
  const f = openFixture()
  const replica = openFixture()
  try {
    const log: KvCommand[] = []
    const run = (c: KvCommand) => {
      log.push(c)
      return f.run(c)
    }
    const clients: ClientState[] = Array.from({ length: CLIENTS }, () => ({ lease: 0n, holds: false }))
    /** Model deadline of every lease we granted and did not revoke. */
    const deadlines = new Map<bigint, { deadline: number; ttl: number }>()
    let lastToken = 0
    let tick = 0
    let now = 0

    const invariants = () => {
      // No lease gone before its deadline; none alive past it (a tick just ran or nothing is due).
      for (const [id, d] of deadlines) {
        const alive = f.sm.lease(id) !== undefined
        if (!alive) {
          expect(f.sm.committedMs).toBeGreaterThanOrEqual(d.deadline)
          deadlines.delete(id)
        } else expect(f.sm.committedMs).toBeLessThan(d.deadline)
      }
      // At most one holder, and it is the live lease on the lock key.
      const live = f.sm.range({ key: LOCK })
      if (live instanceof Error) throw live
      const onKey = live.kvs[0]?.lease ?? 0n
      const holders = clients.filter((c) => c.holds && f.sm.lease(c.lease) !== undefined)
      expect(holders.length).toBeLessThanOrEqual(1)
      for (const h of holders) expect(h.lease).toBe(onKey)
      if (onKey !== 0n) expect(f.sm.lease(onKey)).toBeDefined()
    }

    for (const [step, a] of actions.entries()) {
      switch (a.kind) {
        case "acquire": {
          const c = clients[a.client]!
          if (c.lease === 0n || f.sm.lease(c.lease) === undefined) {
            const g = run({ type: "leaseGrant", request: { id: 0n, ttlMs: a.ttlMs } })
            if (!g.ok || g.response.type !== "leaseGrant") throw new Error("grant failed")
            c.lease = g.response.response.id
            c.holds = false
            deadlines.set(c.lease, { deadline: f.sm.committedMs + a.ttlMs, ttl: a.ttlMs })
          }
          const o = run({
            type: "txn",
            request: {
              compare: [{ key: LOCK, target: "CREATE", result: "EQUAL", operand: 0n }],
              success: [{ type: "put", request: { key: LOCK, value: b(`c${a.client}`), lease: c.lease } }],
              failure: [],
            },
          })
          if (!o.ok || o.response.type !== "txn") throw new Error("txn failed")
          if (o.response.response.succeeded) {
            const token = o.response.response.header.revision
            expect(token).toBeGreaterThan(lastToken)
            lastToken = token
            c.holds = true
          }
          break
        }
        case "renew": {
          const c = clients[a.client]!
          if (c.lease === 0n) break
          const o = run({ type: "leaseRenew", request: { ids: [c.lease] } })
          if (!o.ok || o.response.type !== "leaseRenew") throw new Error("renew failed")
          const d = deadlines.get(c.lease)
          if (o.response.response.ttlsMs[0]! > 0 && d !== undefined) d.deadline = f.sm.committedMs + d.ttl
          break
        }
        case "release": {
          const c = clients[a.client]!
          if (c.lease === 0n) break
          run({ type: "leaseRevoke", request: { id: c.lease } })
          deadlines.delete(c.lease)
          c.lease = 0n
          c.holds = false
          break
        }
        case "advance":
          now += a.ms
          run({ type: "tick", tick: ++tick, ms: now })
          break
      }
      sabotage?.(f, step)
      invariants()
    }
    for (const c of log) replica.run(c)
    expect(replica.sm.hash()).toBe(f.sm.hash())
  } finally {
    f.close()
    replica.close()
  }
}

test("lease model: one holder per lease epoch, increasing fencing tokens, no early expiry, replicas agree", () => {
  fc.assert(
    fc.property(fc.array(actionArb, { minLength: 1, maxLength: 60 }), (actions) => check(actions)),
    { numRuns: 50 },
  )
}, 60_000)

test("the lease model check can fail: a replica that drops a lease on its own clock is caught", () => {
  const actions: Action[] = [
    { kind: "acquire", client: 0, ttlMs: 500 },
    { kind: "advance", ms: 10 },
  ]
  expect(() => check(actions)).not.toThrow()
  // As if this replica expired the lease itself, 490 ms early.
  const early = (f: Fixture, step: number) => {
    if (step === 1) f.db.exec(`DELETE FROM ${f.sm.tables.leases}`)
  }
  expect(() => check(actions, early)).toThrow()
})
