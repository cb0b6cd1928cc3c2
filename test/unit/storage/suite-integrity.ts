/**
 * Checksums and quarantine: damaged rows and flipped bytes in the file are detected, the store
 * refuses to serve from then on, and the error names the group, index and file.
 */
import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import type { ConfState } from "../../../schemas/raft.ts"
import { CorruptionError } from "../../../src/storage/errors.ts"
import { GroupCommitter } from "../../../src/storage/group-commit.ts"
import type { LogStore } from "../../../src/storage/log-store.ts"
import { type Harness, mulberry32, openStore, seededBytes, text, withDb } from "./harness.ts"
import { entry, ready, run } from "./suite-log.ts"

const conf: ConfState = { voters: ["n1"], learners: [], votersOutgoing: [] }

const isCorruption =
  (fields: Partial<Pick<CorruptionError, "group" | "index" | "what" | "file">>) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof CorruptionError, `expected a CorruptionError, got ${String(e)}`)
    for (const [k, v] of Object.entries(fields)) assert.equal(e[k as keyof CorruptionError], v, k)
    assert.match(e.message, /quarantined/)
    assert.match(e.message, /Restore this replica from a healthy peer/)
    return true
  }

/** Every read and write now fails with the quarantine error. */
const assertQuarantined = (store: LogStore): void => {
  const q = store.quarantined
  assert.ok(q instanceof CorruptionError)
  assert.throws(
    () => store.load(99),
    (e) => e === q,
  )
  assert.throws(
    () => store.hardState(1),
    (e) => e === q,
  )
  assert.throws(
    () => store.persistReady(2, ready({ entries: run(1, 1, 1) })),
    (e) => e === q,
  )
}

const indexOf = (haystack: Uint8Array, needle: Uint8Array): number => {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

export const integritySuite = (h: Harness): void => {
  const { driver, test } = h
  const name = driver.name

  test(`${name}: a damaged entry row quarantines the store, naming group, index and file`, () =>
    withDb(driver, ({ open, path }) => {
      const db = open()
      const store = openStore(db)
      store.persistReady(4, ready({ entries: run(1, 6, 1) }))
      store.persistReady(5, ready({ entries: run(1, 2, 1) }))
      db.prepare("UPDATE raft_entry SET data = ? WHERE group_id = 4 AND idx = 3").run(text("e9"))
      assert.throws(() => store.load(4), isCorruption({ group: 4, index: 3, what: "entry", file: path }))
      assertQuarantined(store)
      // even data that is intact is no longer served
      assert.throws(() => store.load(5), CorruptionError)
      // a fresh store on the same file finds it again
      assert.throws(() => openStore(db).entries(4, 1, 7), isCorruption({ group: 4, index: 3 }))
    }))

  test(`${name}: an entry moved to another index or term does not verify`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const store = openStore(db)
      store.persistReady(1, ready({ entries: [entry(1, 1, "same"), entry(2, 1, "same")] }))
      db.prepare("UPDATE raft_entry SET term = 2 WHERE group_id = 1 AND idx = 2").run()
      assert.throws(() => store.term(1, 2), isCorruption({ group: 1, index: 2 }))
    }))

  test(`${name}: a missing entry in the middle of the log is corruption, not a shorter log`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const store = openStore(db)
      store.persistReady(1, ready({ entries: run(1, 5, 1) }))
      db.prepare("DELETE FROM raft_entry WHERE group_id = 1 AND idx = 3").run()
      assert.throws(() => store.load(1), isCorruption({ group: 1, index: 3, what: "log" }))
    }))

  test(`${name}: damaged hard state, floor and snapshot metadata are detected`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      openStore(db).persistReady(
        1,
        ready({ entries: run(1, 2, 1), hardState: { term: 1, vote: "a", commit: 2 } }),
      )
      db.prepare("UPDATE raft_hard_state SET vote = 'b'").run()
      assert.throws(() => openStore(db).load(1), isCorruption({ group: 1, what: "hard state" }))

      openStore(db).persistReady(2, ready({ entries: run(1, 4, 1), compactTo: 2 }))
      db.prepare("UPDATE raft_group SET floor_idx = 1 WHERE group_id = 2").run()
      assert.throws(() => openStore(db).load(2), isCorruption({ group: 2, what: "group record" }))

      openStore(db).persistReady(
        3,
        ready({ snapshot: { meta: { index: 5, term: 1, conf }, data: text("x") } }),
      )
      db.prepare("UPDATE raft_snapshot SET term = 2 WHERE group_id = 3").run()
      assert.throws(
        () => openStore(db).snapshotMeta(3),
        isCorruption({ group: 3, what: "snapshot metadata" }),
      )
    }))

  test(`${name}: a log table that vanished is not silently recreated empty`, () =>
    withDb(driver, ({ open, path }) => {
      const db = open()
      openStore(db).persistReady(1, ready({ entries: run(1, 3, 1) }))
      db.exec("ALTER TABLE raft_entry RENAME TO raft_entrz") // as a flipped byte in the schema page would
      assert.throws(() => openStore(db), isCorruption({ what: "schema", file: path, group: null }))
      db.exec("ALTER TABLE raft_entrz RENAME TO raft_entry")
      db.exec("ALTER TABLE raft_hard_state RENAME COLUMN vote TO vots")
      assert.throws(() => openStore(db), /table raft_hard_state has columns/)
    }))

  test(`${name}: a commit index beyond the log is refused at load`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const store = openStore(db)
      store.persistReady(1, ready({ entries: run(1, 5, 1), hardState: { term: 1, vote: null, commit: 5 } }))
      // remove the tail behind the store's back (as a lost write would)
      db.prepare("DELETE FROM raft_entry WHERE group_id = 1 AND idx >= 4").run()
      assert.throws(() => store.load(1), isCorruption({ group: 1, what: "hard state" }))
    }))

  test(`${name}: damaged, missing or reordered snapshot chunks are detected while streaming`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      const data = seededBytes(3, 5000)
      openStore(db, { snapshotChunkBytes: 1000 }).persistReady(
        1,
        ready({ snapshot: { meta: { index: 9, term: 1, conf }, data } }),
      )
      db.prepare("UPDATE raft_snapshot_chunk SET data = ? WHERE seq = 2").run(seededBytes(4, 1000))
      const store = openStore(db)
      const seen: number[] = []
      assert.throws(
        () => {
          for (const c of store.readSnapshot(1)) seen.push(c.length)
        },
        isCorruption({ group: 1, index: 2, what: "snapshot chunk" }),
      )
      assert.deepEqual(seen, [1000, 1000]) // nothing after the damaged chunk was handed out
      assertQuarantined(store)

      openStore(db, { snapshotChunkBytes: 1000 }).persistReady(
        2,
        ready({ snapshot: { meta: { index: 9, term: 1, conf }, data } }),
      )
      db.prepare("DELETE FROM raft_snapshot_chunk WHERE group_id = 2 AND seq = 4").run()
      assert.throws(() => openStore(db).load(2), isCorruption({ group: 2, what: "snapshot chunk" }))
    }))

  test(`${name}: a byte flipped in the database file is caught by the entry checksum`, () =>
    withDb(driver, ({ open, path }) => {
      const marker = text("LATTICE-MARKER-0123456789-abcdefghij")
      const db = open()
      const store = openStore(db)
      store.persistReady(
        1,
        ready({ entries: [...run(1, 4, 1), { ...entry(5, 1), data: marker }, entry(6, 1)] }),
      )
      db.close() // checkpoints the WAL into the main file
      const file = readFileSync(path)
      const at = indexOf(file, marker)
      assert.ok(at > 0, "marker found in the file")
      file[at + 10]! ^= 0x01
      writeFileSync(path, file)
      const reopened = openStore(open())
      assert.throws(() => reopened.load(1), isCorruption({ group: 1, index: 5, what: "entry", file: path }))
      assertQuarantined(reopened)
    }))

  test(`${name}: a byte flipped in a stored snapshot chunk is caught`, () =>
    withDb(driver, ({ open }) => {
      const marker = text("SNAPSHOT-MARKER-0123456789")
      const db = open()
      const data = new Uint8Array(3000)
      data.set(marker, 1500)
      openStore(db, { snapshotChunkBytes: 1024 }).persistReady(
        1,
        ready({ snapshot: { meta: { index: 3, term: 1, conf }, data } }),
      )
      db.close()
      const { path } = db
      const file = readFileSync(path)
      file[indexOf(file, marker) + 3]! ^= 0x80
      writeFileSync(path, file)
      assert.throws(
        () => openStore(open()).load(1),
        isCorruption({ group: 1, index: 1, what: "snapshot chunk" }),
      )
    }))

  test(
    `${name}: random byte flips never yield wrong data: either the same log or a CorruptionError (${h.flipTrials} flips)`,
    () =>
      withDb(driver, ({ open, path }) => {
        const db = open()
        const store = openStore(db)
        for (let g = 1; g <= 3; g++) {
          const entries = run(1, 40, 1).map((e) => ({
            ...e,
            data: seededBytes(g * 1000 + e.index, 50 + e.index * 7),
          }))
          store.persistReady(g, ready({ entries, hardState: { term: 1, vote: "n1", commit: 40 } }))
        }
        const expected = [1, 2, 3].map((g) => store.load(g))
        db.close()
        const pristine = readFileSync(path)
        const rnd = mulberry32(77)
        let detected = 0
        for (let trial = 0; trial < h.flipTrials; trial++) {
          const damaged = Uint8Array.from(pristine)
          // skip the 100-byte file header: damage there is about SQLite's own format, not ours
          const at = 100 + (rnd() % (damaged.length - 100))
          damaged[at]! ^= 1 << (rnd() % 8)
          writeFileSync(path, damaged)
          let reopened: ReturnType<typeof open> | undefined
          try {
            reopened = open()
            const s = openStore(reopened)
            for (let g = 1; g <= 3; g++) {
              const got = s.load(g)
              assert.deepEqual(got.hardState, expected[g - 1]!.hardState, `trial ${trial} byte ${at}`)
              assert.deepEqual(got.entries, expected[g - 1]!.entries, `trial ${trial} byte ${at}`)
            }
          } catch (e) {
            if (!(e instanceof CorruptionError) && !/malformed|not a database|corrupt/i.test(String(e)))
              throw e
            detected++
          } finally {
            try {
              reopened?.close()
            } catch {
              // a corrupt file may refuse to close cleanly
            }
          }
        }
        assert.ok(detected > 0, "some flips land in live data and are detected")
      }),
    120_000,
  )

  test(`${name}: a quarantined store fails group commits with the CorruptionError`, async () =>
    withDb(driver, async ({ open }) => {
      const db = open()
      const store = openStore(db)
      store.persistReady(1, ready({ entries: run(1, 2, 1) }))
      db.prepare("UPDATE raft_entry SET crc = crc + 1 WHERE idx = 2").run()
      assert.throws(() => store.load(1), CorruptionError)
      const committer = new GroupCommitter(store, { schedule: () => {} })
      const p = committer.submit(1, ready({ entries: run(3, 3, 1) }))
      committer.flush()
      await assert.rejects(p, CorruptionError)
    }))
}
