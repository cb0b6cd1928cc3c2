/** Compaction: etcd's logical rules, incremental physical removal, stable hashes. */
import { afterEach, beforeEach, expect, test } from "bun:test"
import { type HashKVResponse, KvError } from "../../../schemas/kv.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

let f: Fixture
beforeEach(() => {
  f = openFixture()
})
afterEach(() => f.close())

const rowCount = (): number => Number(f.db.prepare(`SELECT count(*) AS n FROM ${f.sm.tables.rows}`).get()!.n)
const hashKv = (rev = 0): HashKVResponse => {
  const h = f.sm.hashKV(rev)
  if (h instanceof KvError) throw h
  return h
}

test("keeps each key's newest version at the floor; a key deleted before it disappears", () => {
  f.ok({ type: "put", request: { key: b("a"), value: b("1") } }) // 2
  f.ok({ type: "put", request: { key: b("a"), value: b("2") } }) // 3
  f.ok({ type: "put", request: { key: b("gone"), value: b("x") } }) // 4
  f.ok({ type: "deleteRange", request: { key: b("gone") } }) // 5
  f.ok({ type: "put", request: { key: b("a"), value: b("3") } }) // 6
  expect(rowCount()).toBe(5)
  const uncompacted = hashKv()
  f.ok({ type: "compact", request: { revision: 5 } })
  // Logically compacted at once (history left the hash); physical progress does not matter.
  const before = hashKv()
  expect(before.hash).not.toBe(uncompacted.hash)
  expect(f.sm.isCompacted(5)).toBe(false)
  while (!f.sm.compactStep(1)) {}
  expect(f.sm.isCompacted(5)).toBe(true)
  expect(rowCount()).toBe(2) // a@3 (newest at the floor) and a@6
  expect(hashKv().hash).toBe(before.hash)
  const at5 = f.sm.range({ key: b("a"), revision: 5 })
  expect(at5 instanceof KvError ? at5 : at5.kvs[0]!.modRevision).toBe(3)
  expect(hashKv().compactRevision).toBe(5)
  expect(f.sm.hashKV(4)).toEqual(new KvError("Compacted"))
  expect(f.sm.hashKV(99)).toEqual(new KvError("FutureRev"))
})

test("physical compaction advances in bounded steps and survives a restart", () => {
  for (let i = 0; i < 30; i++) {
    f.ok({ type: "put", request: { key: b(`k${i % 10}`), value: b(`${i}`) } })
  }
  f.ok({ type: "compact", request: { revision: f.sm.revision } })
  let steps = 0
  while (!f.sm.compactStep(3)) steps++
  expect(steps).toBe(3) // 10 keys, 3 per step: 3 partial steps then the last one
  expect(rowCount()).toBe(10)
})

test("a hash changes with the state and differs at different revisions", () => {
  f.ok({ type: "put", request: { key: b("a") } })
  const h1 = hashKv().hash
  f.ok({ type: "put", request: { key: b("a") } })
  expect(hashKv().hash).not.toBe(h1)
  expect(hashKv(2).hash).toBe(h1)
})
