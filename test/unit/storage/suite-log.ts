/** Log store behaviour: append, truncate, hard state, compaction floor, snapshots, groups. */
import assert from "node:assert/strict"
import type { ConfState, Entry, HardState, Snapshot } from "../../../schemas/raft.ts"
import { LogStoreError } from "../../../src/storage/errors.ts"
import type { ReadyToPersist } from "../../../src/storage/log-store.ts"
import { type Harness, openStore, seededBytes, text, withDb } from "./harness.ts"

export const entry = (index: number, term: number, data = `e${index}`): Entry => ({
  index,
  term,
  type: "normal",
  data: text(data),
})

export const run = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term))

export const ready = (r: Partial<ReadyToPersist>): ReadyToPersist => ({
  hardState: null,
  truncateFrom: null,
  entries: [],
  snapshot: null,
  compactTo: null,
  ...r,
})

const conf: ConfState = { voters: ["n1", "n2", "n3"], learners: [], votersOutgoing: [] }

export const indexes = (entries: readonly Entry[]): number[] => entries.map((e) => e.index)

export const logSuite = (h: Harness): void => {
  const { driver, test } = h
  const name = driver.name

  test(`${name}: a Ready's entries and hard state are loaded back after reopening`, () =>
    withDb(driver, ({ open }) => {
      const hs: HardState = { term: 2, vote: "n2", commit: 3 }
      const entries: Entry[] = [
        entry(1, 1),
        { index: 2, term: 1, type: "noop", data: new Uint8Array(0) },
        { index: 3, term: 2, type: "conf", data: text('{"type":"addVoter","node":"n4"}') },
      ]
      const db = open()
      openStore(db).persistReady(7, ready({ hardState: hs, entries }))
      db.close()
      const loaded = openStore(open()).load(7)
      assert.deepEqual(loaded.hardState, hs)
      assert.deepEqual(
        loaded.entries.map((e) => ({ ...e, data: [...e.data] })),
        entries.map((e) => ({ ...e, data: [...e.data] })),
      )
      assert.equal(loaded.snapshot, null)
      assert.deepEqual(loaded.floor, { index: 0, term: 0 })
    }))

  test(`${name}: an unknown group loads empty, with its bootstrap membership once recorded`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      const empty = store.load(3)
      assert.deepEqual(empty.hardState, { term: 0, vote: null, commit: 0 })
      assert.deepEqual(empty.entries, [])
      assert.deepEqual(empty.bootstrapConf, { voters: [], learners: [], votersOutgoing: [] })
      store.bootstrap(3, conf)
      assert.deepEqual(store.load(3).bootstrapConf, conf)
      assert.deepEqual(store.groups(), [3])
    }))

  test(`${name}: groups are isolated from each other`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      store.persistReady(1, ready({ entries: run(1, 3, 1), hardState: { term: 1, vote: "a", commit: 1 } }))
      store.persistReady(2, ready({ entries: run(1, 5, 4), hardState: { term: 4, vote: "b", commit: 5 } }))
      store.persistReady(
        1,
        ready({ truncateFrom: 2, entries: run(2, 2, 2), hardState: { term: 2, vote: null, commit: 1 } }),
      )
      assert.deepEqual(indexes(store.load(1).entries), [1, 2])
      assert.deepEqual(indexes(store.load(2).entries), [1, 2, 3, 4, 5])
      assert.equal(store.load(2).hardState.vote, "b")
      assert.equal(store.lastIndex(1), 2)
      assert.equal(store.lastIndex(2), 5)
      assert.deepEqual(store.groups(), [1, 2])
    }))

  test(`${name}: truncateFrom removes a conflicting suffix before the new entries`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      store.persistReady(1, ready({ entries: run(1, 5, 1) }))
      store.persistReady(1, ready({ truncateFrom: 3, entries: run(3, 4, 2) }))
      const loaded = store.load(1)
      assert.deepEqual(
        loaded.entries.map((e) => [e.index, e.term]),
        [
          [1, 1],
          [2, 1],
          [3, 2],
          [4, 2],
        ],
      )
      // an append over existing indexes also replaces the suffix
      store.persistReady(1, ready({ entries: run(2, 2, 3) }))
      assert.deepEqual(
        store.load(1).entries.map((e) => [e.index, e.term]),
        [
          [1, 1],
          [2, 3],
        ],
      )
      assert.equal(store.term(1, 2), 3)
      assert.equal(store.term(1, 3), null)
    }))

  test(`${name}: a Ready that breaks the log's rules is rejected whole, nothing of it persists`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      store.persistReady(1, ready({ entries: run(1, 2, 1), hardState: { term: 1, vote: null, commit: 1 } }))
      const gap = ready({ entries: run(4, 5, 1), hardState: { term: 9, vote: "x", commit: 2 } })
      assert.throws(() => store.persistReady(1, gap), LogStoreError)
      const holes = ready({ entries: [entry(3, 1), entry(5, 1)] })
      assert.throws(() => store.persistReady(1, holes), /not contiguous/)
      const loaded = store.load(1)
      assert.deepEqual(indexes(loaded.entries), [1, 2])
      assert.deepEqual(loaded.hardState, { term: 1, vote: null, commit: 1 })
      assert.equal(store.quarantined, null)
    }))

  test(`${name}: compaction sets the floor; compacted entries are gone but the floor's term is known`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const store = openStore(db)
      store.persistReady(1, ready({ entries: [...run(1, 4, 1), ...run(5, 8, 2)] }))
      store.persistReady(1, ready({ compactTo: 5, hardState: { term: 2, vote: null, commit: 8 } }))
      const loaded = openStore(db).load(1)
      assert.deepEqual(loaded.floor, { index: 5, term: 2 })
      assert.deepEqual(indexes(loaded.entries), [6, 7, 8])
      assert.equal(store.firstIndex(1), 6)
      assert.equal(store.term(1, 5), 2)
      assert.equal(store.term(1, 4), null)
      assert.throws(() => store.entries(1, 4, 7), /compacted/)
      assert.deepEqual(indexes(store.entries(1, 6, 9)), [6, 7, 8])
      assert.throws(() => store.entries(1, 6, 10), /log ends at 8/)
      assert.throws(() => store.persistReady(1, ready({ truncateFrom: 5 })), /compaction floor/)
      // compacting below the floor again is a no-op; past the end is refused
      store.compact(1, 3)
      assert.throws(() => store.compact(1, 20), /no entry at that index/)
      // after compacting everything, appends continue from the floor
      store.compact(1, 8)
      assert.equal(store.lastIndex(1), 8)
      store.persistReady(1, ready({ entries: run(9, 9, 2) }))
      assert.deepEqual(indexes(store.load(1).entries), [9])
    }))

  test(`${name}: entries() pages by maxBytes but always returns at least one entry`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      store.persistReady(
        1,
        ready({ entries: run(1, 10, 1).map((e) => ({ ...e, data: new Uint8Array(100) })) }),
      )
      assert.deepEqual(indexes(store.entries(1, 1, 11, 250)), [1, 2])
      assert.deepEqual(indexes(store.entries(1, 3, 11, 10)), [3])
      assert.equal(store.entries(1, 1, 11).length, 10)
    }))

  test(`${name}: a snapshot in a Ready is stored in chunks and read back whole and streamed`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const store = openStore(db, { snapshotChunkBytes: 1000 })
      store.persistReady(1, ready({ entries: run(1, 3, 1) }))
      const data = seededBytes(1, 10_500)
      const snapshot: Snapshot = { meta: { index: 20, term: 3, conf }, data }
      store.persistReady(
        1,
        ready({ snapshot, entries: run(21, 22, 3), hardState: { term: 3, vote: null, commit: 20 } }),
      )
      const chunks = [...store.readSnapshot(1)]
      assert.equal(chunks.length, 11)
      assert.ok(chunks.every((c, i) => c.length === (i < 10 ? 1000 : 500)))
      const loaded = openStore(db).load(1)
      assert.deepEqual(loaded.snapshot?.meta, snapshot.meta)
      assert.deepEqual(loaded.snapshot?.data, data)
      assert.deepEqual(loaded.floor, { index: 20, term: 3 })
      assert.deepEqual(indexes(loaded.entries), [21, 22])
      const lean = store.load(1, { snapshotData: false })
      assert.equal(lean.snapshot?.data.length, 0)
      assert.equal(db.prepare("SELECT count(*) AS n FROM raft_snapshot_chunk").get()?.n, 11n)
    }))

  test(`${name}: a snapshot keeps the log after it only when the log holds its last entry with the same term`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      store.persistReady(1, ready({ entries: run(1, 10, 2) }))
      store.persistReady(1, ready({ snapshot: { meta: { index: 6, term: 2, conf }, data: text("s6") } }))
      assert.deepEqual(indexes(store.load(1).entries), [7, 8, 9, 10])
      store.persistReady(2, ready({ entries: run(1, 10, 2) }))
      store.persistReady(2, ready({ snapshot: { meta: { index: 6, term: 5, conf }, data: text("s6") } }))
      assert.deepEqual(indexes(store.load(2).entries), [])
      assert.equal(store.lastIndex(2), 6)
      assert.throws(
        () =>
          store.persistReady(
            1,
            ready({ snapshot: { meta: { index: 3, term: 2, conf }, data: text("old") } }),
          ),
        /older than the stored one/,
      )
    }))

  test(`${name}: a streamed snapshot is invisible until commit; abort and crashed writers leave nothing`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const store = openStore(db, { snapshotChunkBytes: 64 })
      store.persistReady(1, ready({ entries: run(1, 5, 1) }))
      const data = seededBytes(2, 1000)
      const abandoned = store.beginSnapshot(1, { index: 2, term: 1, conf })
      abandoned.write(data.subarray(0, 300)) // never committed: as if the node crashed here
      const aborted = store.beginSnapshot(1, { index: 3, term: 1, conf })
      aborted.write(data)
      aborted.abort()
      assert.equal(store.snapshotMeta(1), null)
      const writer = store.beginSnapshot(1, { index: 4, term: 1, conf })
      for (let off = 0; off < data.length; off += 37) writer.write(data.subarray(off, off + 37))
      assert.equal(store.snapshotMeta(1), null)
      writer.commit()
      assert.deepEqual(store.snapshotMeta(1), { index: 4, term: 1, conf })
      assert.deepEqual(store.load(1).snapshot?.data, data)
      assert.deepEqual(indexes(store.load(1).entries), [5])
      // only the committed snapshot's chunks remain
      const chunkCount = db.prepare("SELECT count(*) AS n FROM raft_snapshot_chunk").get()?.n
      assert.equal(chunkCount, BigInt(Math.ceil(1000 / 64)))
      assert.throws(() => writer.write(data), /already committed/)
    }))

  test(`${name}: an empty snapshot is valid`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      store.persistReady(
        1,
        ready({ snapshot: { meta: { index: 5, term: 1, conf }, data: new Uint8Array(0) } }),
      )
      assert.deepEqual(store.load(1).snapshot?.data, new Uint8Array(0))
      assert.deepEqual([...store.readSnapshot(1)], [])
    }))
}
