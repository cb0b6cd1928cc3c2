/** The in-memory key index, and the revision-keyed table it indexes. */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import type { RangeResponse } from "../../../schemas/kv.ts"
import { bytesKey, compareBytes, fromUtf8, keyBytes } from "../../../src/kv/bytes.ts"
import { KeyIndex, newestAt } from "../../../src/kv/key-index.ts"
import { keySpan } from "../../../src/kv/store.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import { b, openFixture } from "./helpers.ts"

const only = (r: unknown) => (r as RangeResponse).kvs

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 3, min: 0, max: 4 })

describe("KeyIndex", () => {
  test("spans list keys in byte order and newestAt finds the version at a revision, through chunk splits and removals", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, fc.boolean()), { minLength: 1, maxLength: 1500 }),
        keyArb,
        keyArb,
        fc.nat(1600),
        (writes, from, to, dropAt) => {
          const index = new KeyIndex()
          const model = new Map<string, { key: Uint8Array; revs: number[] }>()
          writes.forEach(([key, live], i) => {
            const rev = i + 2
            index.add(1, key, rev, live)
            const id = bytesKey(key)
            const m = model.get(id) ?? { key, revs: [] }
            m.revs.push(live ? rev : -rev)
            model.set(id, m)
          })
          // Drop every version below dropAt, as a compaction would.
          for (const [tenant, e] of [...index.after(null)]) index.dropBelow(tenant, e, dropAt)
          for (const [id, m] of model) {
            m.revs = m.revs.filter((r) => Math.abs(r) >= dropAt)
            if (m.revs.length === 0) model.delete(id)
          }
          const span = keySpan(from, to)
          const inSpan = (k: Uint8Array) =>
            span.kind === "one"
              ? compareBytes(k, from) === 0
              : compareBytes(k, from) >= 0 && (span.kind === "from" || compareBytes(k, to) < 0)
          const want = [...model.values()]
            .filter((m) => inSpan(m.key))
            .sort((x, y) => compareBytes(x.key, y.key))
          const got = [...index.span(1, span)]
          expect(got.map((e) => [...keyBytes(e.id)])).toEqual(want.map((m) => [...m.key]))
          expect(got.map((e) => e.revs)).toEqual(want.map((m) => m.revs))
          const everything = [...index.after(null)].map(([, e]) => e.id)
          expect(everything).toEqual([...model.keys()].sort())
          for (const e of got) {
            const at = writes.length
            const expected = e.revs.filter((r) => Math.abs(r) <= at).at(-1) ?? 0
            expect(newestAt(e, at)).toBe(expected)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  test("thousands of keys (chunks split and empty out) stay in byte order and complete", () => {
    const index = new KeyIndex()
    const keys = Array.from({ length: 5000 }, (_, i) => b(`key/${(i * 7919) % 5000}`))
    keys.forEach((key, i) => {
      index.add(1, key, i + 2, true)
    })
    const sorted = keys.map(bytesKey).sort()
    const listed = (span: ReturnType<typeof keySpan>) => [...index.span(1, span)].map((e) => e.id)
    expect(listed(keySpan(b("key/"), new Uint8Array([0])))).toEqual(sorted)
    expect(listed(keySpan(b("key/2"), b("key/3")))).toEqual(sorted.filter((k) => k >= "key/2" && k < "key/3"))
    // Drop every key but each tenth (in key order), as a compaction of deleted keys would.
    const entries = [...index.after(null)]
    entries.forEach(([tenant, e], i) => {
      if (i % 10 !== 0) index.dropBelow(tenant, e, Number.MAX_SAFE_INTEGER)
    })
    const kept = sorted.filter((_, i) => i % 10 === 0)
    expect([...index.after(null)].map(([, e]) => e.id)).toEqual(kept)
    expect(listed(keySpan(b("key/"), new Uint8Array([0])))).toEqual(kept)
    expect(index.get(1, b("key/1"))).toBeUndefined()
  })

  test("an entry's id gives its key's bytes back, for every byte value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (key) => {
        expect([...keyBytes(bytesKey(key))]).toEqual([...key])
      }),
    )
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect([...keyBytes(bytesKey(all))]).toEqual([...all])
  })

  test("after() resumes strictly after a cursor, across tenants", () => {
    const index = new KeyIndex()
    index.add(2, b("a"), 2, true)
    index.add(1, b("b"), 3, true)
    index.add(1, b("a"), 4, true)
    index.add(3, b("c"), 5, true)
    const ids = (c: { tenant: number; key: Uint8Array } | null) =>
      [...index.after(c)].map(([t, e]) => `${t}:${fromUtf8(keyBytes(e.id))}`)
    expect(ids(null)).toEqual(["1:a", "1:b", "2:a", "3:c"])
    expect(ids({ tenant: 1, key: b("a") })).toEqual(["1:b", "2:a", "3:c"])
    expect(ids({ tenant: 2, key: b("a") })).toEqual(["3:c"])
  })
})

describe("revision-keyed rows", () => {
  test("a rolled-back batch leaves nothing in the key index (no cache)", () => {
    const f = openFixture({ cacheSize: 0 })
    try {
      f.ok({ type: "put", request: { key: b("a"), value: b("1") } })
      const next = f.sm.appliedIndex + 1
      expect(() =>
        f.sm.applyBatch([
          { index: next, command: { type: "put", request: { key: b("b"), value: b("x") } } },
          { index: next, command: { type: "put", request: { key: b("c"), value: b("y") } } },
        ]),
      ).toThrow()
      // Another key takes the revision the rolled-back put had.
      f.ok({ type: "put", request: { key: b("d"), value: b("z") } })
      expect(only(f.sm.range({ key: b("b") }))).toEqual([])
      expect(
        only(f.sm.range({ key: b("a"), rangeEnd: new Uint8Array([0]) })).map((kv) => fromUtf8(kv.key)),
      ).toEqual(["a", "d"])
    } finally {
      f.close()
    }
  })

  test("a table from before the move to revision keys is carried over when the group opens", () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-kv-legacy-"))
    openFixture({}, dir).close()
    const db = bunSqliteDriver.open(`${dir}/kv.db`, { synchronous: "OFF" })
    db.exec(`CREATE TABLE kv_1_rows (
      tenant INTEGER NOT NULL, key BLOB NOT NULL, rev INTEGER NOT NULL,
      create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL, value BLOB NOT NULL,
      PRIMARY KEY (tenant, key, rev)) WITHOUT ROWID`)
    db.exec("INSERT INTO kv_1_tenants (name, id) VALUES ('default', 1)")
    const ins = db.prepare("INSERT INTO kv_1_rows VALUES (1, ?, ?, ?, ?, 0, ?)")
    ins.run(b("k"), 2, 2, 1, b("v1"))
    ins.run(b("k"), 3, 2, 2, b("v2"))
    ins.run(b("j"), 4, 4, 1, b("w"))
    db.exec("UPDATE kv_1_state SET revision = 4, applied_index = 3")
    db.close()
    const f = openFixture({}, dir)
    try {
      const kvs = only(f.sm.range({ key: b("a"), rangeEnd: new Uint8Array([0]) }))
      expect(kvs.map((kv) => [fromUtf8(kv.key), fromUtf8(kv.value), kv.modRevision, kv.version])).toEqual([
        ["j", "w", 4, 1],
        ["k", "v2", 3, 2],
      ])
      expect(fromUtf8(only(f.sm.range({ key: b("k"), revision: 2 }))[0]!.value)).toBe("v1")
      expect(f.db.prepare("SELECT name FROM sqlite_master WHERE name = 'kv_1_rows'").get()).toBeUndefined()
      f.ok({ type: "put", request: { key: b("k"), value: b("v3") } })
      expect(only(f.sm.range({ key: b("k") }))[0]!.version).toBe(3)
    } finally {
      f.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
