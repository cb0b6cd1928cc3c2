/** Snapshots (streamed, checksummed, corruption refused) and exact resumption after restart. */
import { expect, test } from "bun:test"
import { rmSync } from "node:fs"
import { KvError } from "../../../schemas/kv.ts"
import { SnapshotError } from "../../../src/kv/snapshot.ts"
import { b, type Fixture, openFixture } from "./helpers.ts"

const fill = (f: Fixture, n: number): void => {
  for (let i = 0; i < n; i++) {
    f.run({
      type: "put",
      tenant: i % 3 === 0 ? "t" : undefined,
      idempotency: i % 5 === 0 ? { clientId: "c", requestId: i } : undefined,
      request: { key: b(`key-${i % 400}`), value: new Uint8Array(300).fill(i % 251) },
    })
  }
  f.run({ type: "compact", request: { revision: f.sm.revision - 50 } })
  f.run({ type: "tick", tick: 3, ms: 300 })
}

test("a snapshot restores to an identical state, in many chunks", async () => {
  const src = openFixture()
  const dst = openFixture()
  fill(src, 1500)
  const chunks = [...src.sm.snapshot()]
  expect(chunks.length).toBeGreaterThan(2)
  dst.run({ type: "put", request: { key: b("stale") } })
  await dst.sm.restore(chunks)
  expect(dst.sm.hash()).toBe(src.sm.hash())
  expect([dst.sm.appliedIndex, dst.sm.revision, dst.sm.compactRevision, dst.sm.tick]).toEqual([
    src.sm.appliedIndex,
    src.sm.revision,
    src.sm.compactRevision,
    src.sm.tick,
  ])
  expect(dst.sm.range({ key: b("stale") })).toMatchObject({ count: 0 })
  // Both continue identically.
  const next = { type: "put", request: { key: b("key-1"), value: b("n") } } as const
  expect(dst.sm.apply(dst.sm.appliedIndex + 1, next).outcome).toEqual(
    src.sm.apply(src.sm.appliedIndex + 1, next).outcome,
  )
  expect(dst.sm.hash()).toBe(src.sm.hash())
  src.close()
  dst.close()
})

test("corrupt, truncated or reordered snapshots are refused and change nothing", async () => {
  const src = openFixture()
  const dst = openFixture()
  fill(src, 1200)
  dst.run({ type: "put", request: { key: b("mine") } })
  const before = dst.sm.hash()
  const chunks = [...src.sm.snapshot()]
  const flipped = chunks.map((c) => c.slice())
  flipped[2]![10]! ^= 1
  await expect(dst.sm.restore(flipped)).rejects.toBeInstanceOf(SnapshotError)
  await expect(dst.sm.restore(chunks.slice(0, -1))).rejects.toThrow("truncated")
  await expect(
    dst.sm.restore([chunks[0]!, chunks[2]!, chunks[1]!, ...chunks.slice(3)]),
  ).rejects.toBeInstanceOf(SnapshotError)
  expect(dst.sm.hash()).toBe(before)
  expect(dst.sm.range({ key: b("mine") })).toMatchObject({ count: 1 })
  src.close()
  dst.close()
})

test("a restarted state machine resumes exactly after its last applied entry", () => {
  const first = openFixture({}, undefined)
  const dir = first.dir
  first.run({ type: "put", request: { key: b("a") } })
  first.sm.applyBatch([
    { index: 2, command: { type: "put", request: { key: b("b") } } },
    { index: 3, command: { type: "put", request: { key: b("c") } } },
  ])
  first.sm.advance(4)
  const hash = first.sm.hash()
  first.db.close()
  const again = openFixture({}, dir)
  expect([again.sm.appliedIndex, again.sm.revision, again.sm.hash()]).toEqual([4, 4, hash])
  expect(() => again.sm.apply(4, { type: "put", request: { key: b("x") } })).toThrow(RangeError)
  again.close()
  rmSync(dir, { recursive: true, force: true })
})

test("a batch is one transaction: a failure inside rolls the whole batch back", () => {
  const f = openFixture()
  f.run({ type: "put", request: { key: b("a") } })
  expect(() =>
    f.sm.applyBatch([
      { index: 2, command: { type: "put", request: { key: b("b") } } },
      { index: 2, command: { type: "put", request: { key: b("c") } } },
    ]),
  ).toThrow(RangeError)
  expect([f.sm.appliedIndex, f.sm.revision]).toEqual([1, 2])
  const r = f.sm.range({ key: b("b") })
  expect(r instanceof KvError ? r : r.count).toBe(0)
  f.close()
})

test("restore consumes an async stream chunk by chunk", async () => {
  const src = openFixture()
  const dst = openFixture()
  fill(src, 300)
  const chunks = [...src.sm.snapshot()]
  async function* slowly(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) {
      await Promise.resolve()
      yield c
    }
  }
  await dst.sm.restore(slowly())
  expect(dst.sm.hash()).toBe(src.sm.hash())
  src.close()
  dst.close()
})

test("applying while a snapshot stream is open is refused, and the stream stays consistent", () => {
  const f = openFixture()
  fill(f, 50)
  const it = f.sm.snapshot()
  const first = it.next()
  expect(first.done).toBe(false)
  expect(() => f.run({ type: "put", request: { key: b("late") } })).toThrow("snapshot stream is open")
  const rest = [...it]
  expect(rest.length).toBeGreaterThan(1)
  expect(f.run({ type: "put", request: { key: b("late") } }).ok).toBe(true)
  f.close()
})
