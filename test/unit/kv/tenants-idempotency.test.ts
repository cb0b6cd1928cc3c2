/** Tenant isolation and idempotent retries with deterministic eviction. */
import { afterEach, beforeEach, expect, test } from "bun:test"
import { KvError } from "../../../schemas/kv.ts"
import { fromUtf8 } from "../../../src/kv/bytes.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

let f: Fixture
beforeEach(() => {
  f = openFixture({ idempotency: { ttlTicks: 10, maxRecords: 3 } })
})
afterEach(() => f.close())

const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }
const keysOf = (tenant: string): string[] => {
  const r = f.sm.range(ALL, tenant)
  if (r instanceof KvError) throw r
  return r.kvs.map((kv) => fromUtf8(kv.key))
}

test("tenants never see each other's keys, even with a from-key range", () => {
  f.ok({ type: "put", request: { key: b("a"), value: b("1") } })
  f.ok({ type: "put", tenant: "t2", request: { key: b("a"), value: b("2") } })
  f.ok({ type: "put", tenant: "t2", request: { key: b("z") } })
  expect(keysOf("default")).toEqual(["a"])
  expect(keysOf("t2")).toEqual(["a", "z"])
  expect(keysOf("nobody")).toEqual([])
  const d = f.ok({ type: "deleteRange", tenant: "t2", request: { ...ALL } })
  expect(d.deleted).toBe(2)
  expect(keysOf("default")).toEqual(["a"])
  // One revision sequence per group, shared by its tenants.
  expect(f.sm.revision).toBe(5)
})

test("a retried write with the same idempotency key returns the original outcome", () => {
  const idempotency = { clientId: "c1", requestId: 1 }
  const first = f.run({ type: "put", idempotency, request: { key: b("a"), value: b("1"), prevKv: true } })
  f.ok({ type: "put", request: { key: b("a"), value: b("2") } })
  const retry = f.run({ type: "put", idempotency, request: { key: b("a"), value: b("1"), prevKv: true } })
  expect(retry).toEqual(first)
  expect(f.sm.revision).toBe(3)
  // Errors are outcomes too.
  const bad = { clientId: "c1", requestId: 2 }
  const e1 = f.run({ type: "put", idempotency: bad, request: { key: b("m"), ignoreValue: true } })
  f.ok({ type: "put", request: { key: b("m") } })
  expect(f.run({ type: "put", idempotency: bad, request: { key: b("m"), ignoreValue: true } })).toEqual(e1)
})

test("records are evicted by committed tick age, never by wall clock", () => {
  const idempotency = { clientId: "c", requestId: 7 }
  f.run({ type: "tick", tick: 1, ms: 100 })
  f.run({ type: "put", idempotency, request: { key: b("a") } })
  f.run({ type: "tick", tick: 11, ms: 1100 })
  f.run({ type: "put", idempotency, request: { key: b("a") } })
  expect(f.sm.revision).toBe(2) // still deduplicated at age 10
  f.run({ type: "tick", tick: 12, ms: 1200 })
  f.run({ type: "put", idempotency, request: { key: b("a") } })
  expect(f.sm.revision).toBe(3) // evicted at age 11: applied again
})

test("records beyond the count cap are evicted oldest first", () => {
  for (let i = 1; i <= 4; i++)
    f.run({ type: "put", idempotency: { clientId: "c", requestId: i }, request: { key: b("k") } })
  expect(f.sm.revision).toBe(5)
  f.run({ type: "put", idempotency: { clientId: "c", requestId: 4 }, request: { key: b("k") } })
  expect(f.sm.revision).toBe(5)
  f.run({ type: "put", idempotency: { clientId: "c", requestId: 1 }, request: { key: b("k") } })
  expect(f.sm.revision).toBe(6)
})
