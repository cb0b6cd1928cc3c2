/**
 * hashKvSteps (the divergence check's hasher) gives HashKV's hash at any revision, over a
 * read-only connection of its own, whatever the chunk size; and refuses compacted or future
 * revisions as HashKV does.
 */
import { afterEach, beforeEach, expect, test } from "bun:test"
import { join } from "node:path"
import { KvError } from "../../../schemas/kv.ts"
import { type HashAt, hashKvSteps } from "../../../src/kv/hash.ts"
import { kvTables } from "../../../src/kv/tables.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import type { SqliteDatabase } from "../../../src/storage/driver.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

let f: Fixture
let reader: SqliteDatabase
beforeEach(() => {
  f = openFixture()
  reader = bunSqliteDriver.open(join(f.dir, "kv.db"), { synchronous: "OFF", readonly: true })
})
afterEach(() => {
  reader.close()
  f.close()
})

const steps = (revision: number, chunk: number): { result: HashAt | KvError; yields: number } => {
  const gen = hashKvSteps(reader, kvTables(1), revision, chunk)
  let yields = 0
  for (let r = gen.next(); ; r = gen.next()) {
    if (r.done === true) return { result: r.value, yields }
    yields++
  }
}

test("the same hash as HashKV at the current and at a past revision, in any chunk size", () => {
  for (let i = 0; i < 50; i++) f.ok({ type: "put", request: { key: b(`k${i % 17}`), value: b(`v${i}`) } })
  f.ok({ type: "deleteRange", request: { key: b("k3") } })
  const past = 30
  for (const chunk of [1, 7, 1000]) {
    const now = steps(0, chunk)
    const want = f.sm.hashKV(0)
    if (want instanceof KvError || now.result instanceof KvError) throw new Error("unexpected KvError")
    expect(now.result).toEqual({
      revision: f.sm.revision,
      compactRevision: want.compactRevision,
      hash: want.hash,
    })
    const then = steps(past, chunk).result
    const wantThen = f.sm.hashKV(past)
    if (wantThen instanceof KvError || then instanceof KvError) throw new Error("unexpected KvError")
    expect(then.hash).toBe(wantThen.hash)
    expect(then.revision).toBe(past)
    if (chunk === 1) expect(now.yields).toBeGreaterThan(10)
  }
  // A different value is a different hash.
  const before = steps(0, 1000).result as HashAt
  f.ok({ type: "put", request: { key: b("k1"), value: b("other") } })
  const after = steps(before.revision, 1000).result as HashAt
  expect(after.hash).toBe(before.hash)
  expect((steps(0, 1000).result as HashAt).hash).not.toBe(before.hash)
})

test("compacted and future revisions are refused as HashKV refuses them", () => {
  for (let i = 0; i < 10; i++) f.ok({ type: "put", request: { key: b("a"), value: b(`${i}`) } })
  f.ok({ type: "compact", request: { revision: 5 } })
  expect(steps(4, 10).result).toEqual(new KvError("Compacted"))
  expect(steps(99, 10).result).toEqual(new KvError("FutureRev"))
  expect((steps(0, 10).result as HashAt).compactRevision).toBe(5)
})
