/** The lease part of the KV state machine: grant, renew, revoke, deterministic expiry, snapshots. */
import { afterEach, expect, test } from "bun:test"
import { type KvCommand, MAX_LEASE_ID, MAX_LEASE_TTL_MS } from "../../../schemas/kv.ts"
import { decodeCommand, encodeCommand } from "../../../src/kv/codec.ts"
import { EXPIRE_PER_TICK } from "../../../src/kv/lease/apply.ts"
import { FIRST_ASSIGNED_LEASE_ID } from "../../../src/kv/lease/tables.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

const open: Fixture[] = []
const fixture = (): Fixture => {
  const f = openFixture()
  open.push(f)
  return f
}
afterEach(() => {
  for (const f of open.splice(0)) f.close()
})

let tick = 0
/** Assigned ids count up from an etcd-like base above 2^53. */
const first = FIRST_ASSIGNED_LEASE_ID
const at = (f: Fixture, ms: number) => f.run({ type: "tick", tick: ++tick, ms })
const grant = (f: Fixture, ttlMs: number, id = 0n) => f.ok({ type: "leaseGrant", request: { id, ttlMs } }).id
const put = (f: Fixture, key: string, lease: bigint, tenant?: string) =>
  f.run({ type: "put", tenant, request: { key: b(key), value: b("v"), lease } })
const live = (f: Fixture, key: string, tenant?: string) =>
  f.sm.range({ key: b(key) }, tenant) as { count: number }

test("grant assigns increasing ids, accepts a free client id and refuses a taken or out-of-range one", () => {
  const f = fixture()
  expect(first).toBeGreaterThan(2n ** 53n)
  expect(grant(f, 1000)).toBe(first)
  expect(grant(f, 1000, 5n)).toBe(5n)
  expect(grant(f, 1000)).toBe(first + 1n)
  const taken = f.run({ type: "leaseGrant", request: { id: 5n, ttlMs: 10 } })
  expect(taken.ok ? null : taken.error.kind).toBe("LeaseExist")
  const big = f.run({ type: "leaseGrant", request: { id: MAX_LEASE_ID + 1n, ttlMs: 10 } })
  expect(big.ok ? null : big.error.grpcCode).toBe("INVALID_ARGUMENT")
  const ttl = f.run({ type: "leaseGrant", request: { id: 0n, ttlMs: MAX_LEASE_TTL_MS + 1 } })
  expect(ttl.ok ? null : ttl.error.kind).toBe("LeaseTTLTooLarge")
  expect(f.sm.leaseIds()).toEqual([5n, first, first + 1n])
  // Granting changes no revision (etcd's LeaseGrant header carries the current one).
  expect(f.sm.revision).toBe(1)
})

test("assigned ids skip a client-chosen id that is in use and are never handed out again", () => {
  const f = fixture()
  grant(f, 1000, first)
  expect(grant(f, 1000)).toBe(first + 1n)
  f.ok({ type: "leaseRevoke", request: { id: first + 1n } })
  expect(grant(f, 1000)).toBe(first + 2n)
})

test("a put needs a live lease; the lease's remaining TTL runs on the committed clock", () => {
  const f = fixture()
  at(f, 1000)
  const id = grant(f, 500)
  const bad = put(f, "k", 99n)
  expect(bad.ok ? null : bad.error.kind).toBe("LeaseNotFound")
  expect(put(f, "k", id).ok).toBe(true)
  expect(f.sm.lease(id)).toEqual({ id, ttlMs: 500, remainingMs: 500 })
  at(f, 1300)
  expect(f.sm.lease(id)?.remainingMs).toBe(200)
  expect(f.sm.keysAttachedTo(id)).toEqual([{ tenant: "default", key: b("k") }])
})

test("expiry happens only when a committed tick reaches the deadline, and deletes the keys in one revision", () => {
  const f = fixture()
  at(f, 0)
  const id = grant(f, 250)
  put(f, "a", id)
  put(f, "b", id)
  put(f, "c", id, "other")
  put(f, "plain", 0n)
  const before = f.sm.revision
  at(f, 249)
  expect(f.sm.lease(id)).toBeDefined()
  expect(live(f, "a").count).toBe(1)
  const result = f.sm.apply(f.sm.appliedIndex + 1, { type: "tick", tick: ++tick, ms: 250 })
  expect(f.sm.lease(id)).toBeUndefined()
  expect(f.sm.revision).toBe(before + 1)
  expect(result.events.map((e) => [e.type, new TextDecoder().decode(e.kv.key), e.kv.modRevision])).toEqual([
    ["delete", "a", before + 1],
    ["delete", "b", before + 1],
    ["delete", "c", before + 1],
  ])
  expect([live(f, "a").count, live(f, "b").count, live(f, "c", "other").count]).toEqual([0, 0, 0])
  expect(live(f, "plain").count).toBe(1)
})

test("renew runs the TTL again from the committed clock; an expired or unknown lease renews to -1", () => {
  const f = fixture()
  at(f, 0)
  const id = grant(f, 100)
  at(f, 90)
  expect(f.ok({ type: "leaseRenew", request: { ids: [id, 77n] } }).ttlsMs).toEqual([100, -1])
  at(f, 150)
  expect(f.sm.lease(id)?.remainingMs).toBe(40)
  at(f, 190)
  expect(f.sm.lease(id)).toBeUndefined()
  expect(f.ok({ type: "leaseRenew", request: { ids: [id] } }).ttlsMs).toEqual([-1])
})

test("a tick never moves the clock back (a deposed leader's late tick changes nothing)", () => {
  const f = fixture()
  at(f, 1000)
  const id = grant(f, 100)
  at(f, 500)
  expect(f.sm.committedMs).toBe(1000)
  expect(f.sm.lease(id)?.remainingMs).toBe(100)
})

test("revoke deletes the attached keys in one revision; a key re-put without the lease is kept", () => {
  const f = fixture()
  const id = grant(f, 60_000)
  put(f, "x", id)
  put(f, "y", id)
  put(f, "y", 0n)
  const before = f.sm.revision
  const r = f.ok({ type: "leaseRevoke", request: { id } })
  expect(r.header.revision).toBe(before + 1)
  expect([live(f, "x").count, live(f, "y").count]).toEqual([0, 1])
  const again = f.run({ type: "leaseRevoke", request: { id } })
  expect(again.ok ? null : again.error.kind).toBe("LeaseNotFound")
  // A lease with no keys: revoking changes no revision.
  const empty = grant(f, 1000)
  expect(f.ok({ type: "leaseRevoke", request: { id: empty } }).header.revision).toBe(before + 1)
})

test("a txn put with a lease needs a live lease too", () => {
  const f = fixture()
  const op = (lease: bigint): KvCommand => ({
    type: "txn",
    request: { compare: [], success: [{ type: "put", request: { key: b("t"), lease } }], failure: [] },
  })
  const bad = f.run(op(3n))
  expect(bad.ok ? null : bad.error.kind).toBe("LeaseNotFound")
  const id = grant(f, 1000)
  expect(f.run(op(id)).ok).toBe(true)
  expect(f.sm.keysAttachedTo(id).length).toBe(1)
})

test("expiry is bounded per tick; the next tick takes the rest", () => {
  const f = fixture()
  at(f, 0)
  for (let i = 0; i < EXPIRE_PER_TICK + 10; i++) grant(f, 10)
  at(f, 10)
  expect(f.sm.leaseCount()).toBe(10)
  // Past-deadline leases are already gone for every reader, before the tick that removes them.
  expect(f.sm.leaseIds()).toEqual([])
  at(f, 11)
  expect(f.sm.leaseCount()).toBe(0)
})

test("leases survive a snapshot and a restart; replicas applying the same entries hash the same", async () => {
  const a = fixture()
  const c = fixture()
  const script: KvCommand[] = [
    { type: "tick", tick: 1, ms: 10 },
    { type: "leaseGrant", request: { id: 0n, ttlMs: 1000 } },
    { type: "leaseGrant", request: { id: 9n, ttlMs: 50 } },
    { type: "leaseGrant", request: { id: 2n ** 62n + 7n, ttlMs: 5000 } },
    { type: "put", request: { key: b("k"), lease: first } },
    { type: "put", request: { key: b("big"), lease: 2n ** 62n + 7n } },
    { type: "tick", tick: 2, ms: 70 },
    { type: "leaseRenew", request: { ids: [first, 2n ** 62n + 7n] } },
  ]
  for (const cmd of script) {
    a.run(cmd)
    c.run(decodeCommand(encodeCommand(cmd)))
  }
  expect(a.sm.hash()).toBe(c.sm.hash())
  const d = fixture()
  await d.sm.restore([...a.sm.snapshot()])
  expect(d.sm.hash()).toBe(a.sm.hash())
  expect(d.sm.leaseIds()).toEqual([2n ** 62n + 7n, first])
  expect(d.sm.lease(first)).toEqual({ id: first, ttlMs: 1000, remainingMs: 1000 })
  expect(d.sm.keysAttachedTo(2n ** 62n + 7n)).toEqual([{ tenant: "default", key: b("big") }])
  expect(grant(d, 5)).toBe(first + 1n)
  // A differing lease table changes the hash.
  expect(d.sm.hash()).not.toBe(a.sm.hash())
})

test("lease commands and outcomes round-trip through the binary codec", () => {
  const cmds: KvCommand[] = [
    { type: "leaseGrant", request: { id: MAX_LEASE_ID, ttlMs: MAX_LEASE_TTL_MS } },
    { type: "leaseRevoke", request: { id: 3n } },
    { type: "leaseRenew", request: { ids: [1n, 2n ** 53n + 1n, MAX_LEASE_ID] } },
  ]
  for (const c of cmds) expect(decodeCommand(encodeCommand(c))).toEqual(c)
})

test("one tick expiring several leases deletes all their keys in one revision", () => {
  const f = fixture()
  at(f, 0)
  const l1 = grant(f, 10)
  const l2 = grant(f, 20)
  put(f, "z", l1)
  put(f, "a", l2)
  const before = f.sm.revision
  const r = f.sm.apply(f.sm.appliedIndex + 1, { type: "tick", tick: ++tick, ms: 30 })
  expect(f.sm.revision).toBe(before + 1)
  expect(r.events.map((e) => [new TextDecoder().decode(e.kv.key), e.kv.modRevision])).toEqual([
    ["a", before + 1],
    ["z", before + 1],
  ])
})
