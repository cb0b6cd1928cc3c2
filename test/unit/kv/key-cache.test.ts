/** The cache of newest versions (`[performance] cache_size`) never shows what SQLite does not hold. */
import { describe, expect, test } from "bun:test"
import type { RangeResponse } from "../../../schemas/kv.ts"
import { b, openFixture } from "./helpers.ts"

const only = (r: unknown) => (r as RangeResponse).kvs

describe("key cache", () => {
  test("a rolled-back batch leaves nothing behind in it", () => {
    const f = openFixture({ cacheSize: 100 })
    try {
      f.ok({ type: "put", request: { key: b("a"), value: b("1") } })
      const next = f.sm.appliedIndex + 1
      // The second entry's index is refused inside the transaction: the first put is rolled back.
      expect(() =>
        f.sm.applyBatch([
          { index: next, command: { type: "put", request: { key: b("a"), value: b("2") } } },
          { index: next, command: { type: "put", request: { key: b("b"), value: b("x") } } },
        ]),
      ).toThrow()
      // Another key takes the revision the rolled-back put had.
      f.ok({ type: "put", request: { key: b("c"), value: b("y") } })
      const [a] = only(f.sm.range({ key: b("a") }))
      expect(new TextDecoder().decode(a!.value)).toBe("1")
      expect(a!.version).toBe(1)
      const put = f.ok({ type: "put", request: { key: b("a"), value: b("3"), prevKv: true } })
      expect(new TextDecoder().decode(put.prevKv!.value)).toBe("1")
      expect(only(f.sm.range({ key: b("a") }))[0]!.version).toBe(2)
      expect(only(f.sm.range({ key: b("b") }))).toEqual([])
    } finally {
      f.close()
    }
  })

  test("keeps its own copy of the bytes a put came with", () => {
    const f = openFixture({ cacheSize: 100 })
    try {
      const key = b("k")
      const value = b("value")
      f.ok({ type: "put", request: { key, value } })
      key.fill(0)
      value.fill(0)
      const [kv] = only(f.sm.range({ key: b("k") }))
      expect(new TextDecoder().decode(kv!.value)).toBe("value")
      expect(new TextDecoder().decode(kv!.key)).toBe("k")
    } finally {
      f.close()
    }
  })

  test("a read at a past revision still sees the version of that revision", () => {
    const f = openFixture({ cacheSize: 100 })
    try {
      const first = f.ok({ type: "put", request: { key: b("k"), value: b("old") } }).header.revision
      f.ok({ type: "put", request: { key: b("k"), value: b("new") } })
      const [kv] = only(f.sm.range({ key: b("k"), revision: first }))
      expect(new TextDecoder().decode(kv!.value)).toBe("old")
      expect(new TextDecoder().decode(only(f.sm.range({ key: b("k") }))[0]!.value)).toBe("new")
    } finally {
      f.close()
    }
  })
})
