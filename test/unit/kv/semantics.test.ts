/** etcd 3.4 semantics, one rule per test (each was checked against a real etcd). */
import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { type Compare, KvError, type RangeResponse } from "../../../schemas/kv.ts"
import { fromUtf8 } from "../../../src/kv/bytes.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

let f: Fixture
beforeEach(() => {
  f = openFixture({ leaseExists: (id) => id === 42n })
})
afterEach(() => f.close())

const FROM = new Uint8Array([0])
const put = (key: string, value = "v", extra = {}) =>
  f.ok({ type: "put", request: { key: b(key), value: b(value), ...extra } })
const range = (key: string, extra = {}): RangeResponse => {
  const r = f.sm.range({ key: b(key), ...extra })
  if (r instanceof KvError) throw r
  return r
}
const keys = (r: RangeResponse): string[] => r.kvs.map((kv) => fromUtf8(kv.key))
const errorOf = (o: ReturnType<Fixture["run"]>): string => (o.ok ? "ok" : o.error.message)

describe("revisions", () => {
  test("a fresh store is at revision 1; each write txn adds exactly one", () => {
    expect(f.sm.revision).toBe(1)
    expect(put("a").header.revision).toBe(2)
    const t = f.ok({
      type: "txn",
      request: {
        compare: [],
        success: [
          { type: "put", request: { key: b("x") } },
          { type: "put", request: { key: b("y") } },
        ],
        failure: [],
      },
    })
    expect(t.header.revision).toBe(3)
    expect(range("x").kvs[0]!.modRevision).toBe(3)
    expect(range("y").kvs[0]!.modRevision).toBe(3)
  })

  test("create/mod revision and version; a delete resets the version", () => {
    put("a")
    put("a")
    let kv = range("a").kvs[0]!
    expect([kv.createRevision, kv.modRevision, kv.version]).toEqual([2, 3, 2])
    f.ok({ type: "deleteRange", request: { key: b("a") } })
    put("a")
    kv = range("a").kvs[0]!
    expect([kv.createRevision, kv.modRevision, kv.version]).toEqual([5, 5, 1])
  })

  test("deleting nothing and a txn writing nothing leave the revision alone", () => {
    put("a")
    const d = f.ok({ type: "deleteRange", request: { key: b("zz") } })
    expect([d.header.revision, d.deleted]).toEqual([2, 0])
    const t = f.ok({ type: "txn", request: { compare: [], success: [], failure: [] } })
    expect(t.header.revision).toBe(2)
    expect(f.sm.revision).toBe(2)
  })
})

describe("range", () => {
  beforeEach(() => {
    for (const k of ["a", "ab", "b", "c"]) put(k, `v-${k}`)
  })

  test("single key, [key, end), prefix and the \\0 from-key form", () => {
    expect(keys(range("ab"))).toEqual(["ab"])
    expect(keys(range("a", { rangeEnd: b("b") }))).toEqual(["a", "ab"])
    expect(keys(range("ab", { rangeEnd: FROM }))).toEqual(["ab", "b", "c"])
    expect(keys(range("\0", { rangeEnd: FROM }))).toEqual(["a", "ab", "b", "c"])
    expect(keys(range("c", { rangeEnd: b("a") }))).toEqual([])
  })

  test("limit sets more; count ignores the limit; count_only and keys_only", () => {
    const r = range("a", { rangeEnd: FROM, limit: 2 })
    expect([keys(r), r.more, r.count]).toEqual([["a", "ab"], true, 4])
    const c = range("a", { rangeEnd: FROM, countOnly: true })
    expect([c.kvs.length, c.count, c.more]).toEqual([0, 4, false])
    expect(range("a", { keysOnly: true }).kvs[0]!.value.length).toBe(0)
  })

  test("sort order and target (non-key targets default to ascending)", () => {
    put("a", "z")
    expect(keys(range("a", { rangeEnd: FROM, sortOrder: "DESCEND" }))).toEqual(["c", "b", "ab", "a"])
    expect(keys(range("a", { rangeEnd: FROM, sortTarget: "MOD" }))).toEqual(["ab", "b", "c", "a"])
    expect(keys(range("a", { rangeEnd: FROM, sortTarget: "VALUE", sortOrder: "DESCEND" }))[0]).toBe("a")
  })

  test("min/max mod and create revision filters; count stays unfiltered", () => {
    const r = range("a", { rangeEnd: FROM, minModRevision: 3, maxModRevision: 4 })
    expect([keys(r), r.count]).toEqual([["ab", "b"], 4])
    expect(keys(range("a", { rangeEnd: FROM, maxCreateRevision: 2 }))).toEqual(["a"])
    expect(keys(range("a", { rangeEnd: FROM, minCreateRevision: 5 }))).toEqual(["c"])
  })

  test("a read at a past revision; header carries the current revision", () => {
    put("a", "new")
    const r = range("a", { revision: 2 })
    expect([fromUtf8(r.kvs[0]!.value), r.header.revision]).toEqual(["v-a", 6])
  })

  test("future and compacted revisions are refused with etcd's errors", () => {
    expect(f.sm.range({ key: b("a"), revision: 99 })).toEqual(new KvError("FutureRev"))
    f.ok({ type: "compact", request: { revision: 3 } })
    const e = f.sm.range({ key: b("a"), revision: 2 })
    expect(e).toBeInstanceOf(KvError)
    expect((e as KvError).message).toBe("etcdserver: mvcc: required revision has been compacted")
    expect((e as KvError).grpcCode).toBe("OUT_OF_RANGE")
    expect(keys(range("a", { rangeEnd: FROM, revision: 3 }))).toEqual(["a", "ab"])
    expect(errorOf(f.run({ type: "compact", request: { revision: 3 } }))).toBe(
      "etcdserver: mvcc: required revision has been compacted",
    )
  })

  test("an empty key is refused", () => {
    expect((f.sm.range({ key: new Uint8Array(0) }) as KvError).message).toBe(
      "etcdserver: key is not provided",
    )
  })
})

describe("put and delete", () => {
  test("prev_kv, ignore_value, ignore_lease", () => {
    put("a", "1", { lease: 42n })
    expect(fromUtf8(put("a", "2", { prevKv: true }).prevKv!.value)).toBe("1")
    f.ok({ type: "put", request: { key: b("a"), ignoreValue: true, lease: 42n } })
    expect(fromUtf8(range("a").kvs[0]!.value)).toBe("2")
    f.ok({ type: "put", request: { key: b("a"), value: b("3"), ignoreLease: true } })
    expect(range("a").kvs[0]!.lease).toBe(42n)
  })

  test("ignore_* on a missing key, a given value or lease, an unknown lease", () => {
    expect(errorOf(f.run({ type: "put", request: { key: b("m"), ignoreValue: true } }))).toBe(
      "etcdserver: key not found",
    )
    expect(errorOf(f.run({ type: "put", request: { key: b("m"), value: b("x"), ignoreValue: true } }))).toBe(
      "etcdserver: value is provided",
    )
    expect(errorOf(f.run({ type: "put", request: { key: b("m"), lease: 1n, ignoreLease: true } }))).toBe(
      "etcdserver: lease is provided",
    )
    expect(errorOf(f.run({ type: "put", request: { key: b("m"), lease: 7n } }))).toBe(
      "etcdserver: requested lease not found",
    )
    expect(f.sm.revision).toBe(1)
  })

  test("delete range returns the count and prev_kvs", () => {
    put("a")
    put("b")
    put("c")
    const d = f.ok({ type: "deleteRange", request: { key: b("a"), rangeEnd: b("c"), prevKv: true } })
    expect([d.deleted, d.prevKvs.map((kv) => fromUtf8(kv.key)), d.header.revision]).toEqual([
      2,
      ["a", "b"],
      5,
    ])
  })
})

describe("txn", () => {
  test("compares on value, version, create, mod and lease", () => {
    put("a", "x", { lease: 42n })
    const holds = (compare: Omit<Compare, "key">): boolean =>
      f.ok({
        type: "txn",
        request: { compare: [{ key: b("a"), ...compare }], success: [], failure: [] },
      }).succeeded
    expect(holds({ target: "VALUE", result: "EQUAL", value: b("x") })).toBe(true)
    expect(holds({ target: "VALUE", result: "GREATER", value: b("w") })).toBe(true)
    expect(holds({ target: "VERSION", result: "EQUAL", operand: 1n })).toBe(true)
    expect(holds({ target: "CREATE", result: "LESS", operand: 3n })).toBe(true)
    expect(holds({ target: "MOD", result: "NOT_EQUAL", operand: 2n })).toBe(false)
    expect(holds({ target: "LEASE", result: "EQUAL", operand: 42n })).toBe(true)
    // Operands beyond 2^53 compare exactly (etcd takes any int64).
    expect(holds({ target: "LEASE", result: "LESS", operand: 2n ** 62n })).toBe(true)
    expect(holds({ target: "MOD", result: "LESS", operand: 2n ** 60n + 1n })).toBe(true)
    expect(holds({ target: "VERSION", result: "GREATER", operand: -(2n ** 63n) })).toBe(true)
    // A missing key: VALUE compares fail, others compare against zero.
    const missing = (compare: Omit<Compare, "key">): boolean =>
      f.ok({
        type: "txn",
        request: { compare: [{ key: b("nope"), ...compare }], success: [], failure: [] },
      }).succeeded
    expect(missing({ target: "VALUE", result: "NOT_EQUAL", value: b("x") })).toBe(false)
    expect(missing({ target: "VERSION", result: "EQUAL", operand: 0n })).toBe(true)
  })

  test("a compare over a range needs every key to hold", () => {
    put("a", "1")
    put("b", "1")
    put("c", "2")
    const over = (end: string) =>
      f.ok({
        type: "txn",
        request: {
          compare: [{ key: b("a"), rangeEnd: b(end), target: "VALUE", result: "EQUAL", value: b("1") }],
          success: [],
          failure: [],
        },
      }).succeeded
    expect(over("c")).toBe(true)
    expect(over("d")).toBe(false)
  })

  test("failure branch with nested txn and range seeing the txn's own writes", () => {
    const r = f.ok({
      type: "txn",
      request: {
        compare: [{ key: b("a"), target: "VERSION", result: "GREATER", operand: 0n }],
        success: [],
        failure: [
          { type: "put", request: { key: b("a"), value: b("1") } },
          {
            type: "txn",
            request: { compare: [], success: [{ type: "range", request: { key: b("a") } }], failure: [] },
          },
        ],
      },
    })
    expect(r.succeeded).toBe(false)
    const nested = r.responses[1]!
    expect(nested.type).toBe("txn")
    if (nested.type !== "txn") return
    expect(nested.response.header.revision).toBe(0)
    const inner = nested.response.responses[0]!
    expect(inner.type === "range" && inner.response.kvs.length).toBe(1)
  })

  test("at most 128 ops per list; duplicate keys are refused", () => {
    const puts = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ type: "put" as const, request: { key: b(`k${i}`) } }))
    expect(f.run({ type: "txn", request: { compare: [], success: puts(128), failure: [] } }).ok).toBe(true)
    expect(errorOf(f.run({ type: "txn", request: { compare: [], success: puts(129), failure: [] } }))).toBe(
      "etcdserver: too many operations in txn request",
    )
    const dup = f.run({
      type: "txn",
      request: {
        compare: [],
        success: [
          { type: "deleteRange", request: { key: b("a"), rangeEnd: b("c") } },
          { type: "put", request: { key: b("b") } },
        ],
        failure: [],
      },
    })
    expect(errorOf(dup)).toBe("etcdserver: duplicate key given in txn request")
    expect(!dup.ok && dup.error.grpcCode).toBe("INVALID_ARGUMENT")
  })

  // etcd's duplicate-key check misses a from-key delete ("\0" end); etcd then finds the key gone
  // mid-apply and panics. Here the txn fails whole before anything is written.
  test("ignore_value/ignore_lease on a key an earlier from-key delete removed fails the whole txn", () => {
    put("b", "old")
    const before = f.sm.revision
    for (const flag of [{ ignoreValue: true }, { ignoreLease: true }]) {
      const gone = f.run({
        type: "txn",
        request: {
          compare: [],
          success: [
            { type: "deleteRange", request: { key: b("a"), rangeEnd: FROM } },
            { type: "put", request: { key: b("b"), ...flag } },
          ],
          failure: [],
        },
      })
      expect(errorOf(gone)).toBe("etcdserver: key not found")
      expect(f.sm.revision).toBe(before)
      expect(range("b").kvs.map((kv) => fromUtf8(kv.value))).toEqual(["old"])
    }
    // A delete that does not cover the key leaves the put free to run.
    f.ok({
      type: "txn",
      request: {
        compare: [],
        success: [
          { type: "deleteRange", request: { key: b("c"), rangeEnd: FROM } },
          { type: "put", request: { key: b("b"), ignoreValue: true } },
        ],
        failure: [],
      },
    })
    expect(range("b").kvs.map((kv) => fromUtf8(kv.value))).toEqual(["old"])
    expect(f.sm.revision).toBe(before + 1)
  })
})

describe("leases", () => {
  test("keysAttachedTo lists live keys whose current version holds the lease", () => {
    put("a", "1", { lease: 42n })
    put("b", "1", { lease: 42n })
    put("b", "2") // detached by a put without the lease
    put("c", "1", { lease: 42n })
    f.ok({ type: "deleteRange", request: { key: b("c") } })
    f.ok({ type: "put", tenant: "t", request: { key: b("z"), lease: 42n } })
    f.ok({ type: "put", request: { key: b("a"), value: b("2"), ignoreLease: true } })
    expect(f.sm.keysAttachedTo(42n).map((x) => `${x.tenant}/${fromUtf8(x.key)}`)).toEqual([
      "default/a",
      "t/z",
    ])
    expect(f.sm.keysAttachedTo(7n)).toEqual([])
  })
})
