/** Online space reclamation, and group commit sharing one transaction between many Readys. */
import assert from "node:assert/strict"
import { Effect, Exit } from "effect"
import { LogStoreError } from "../../../src/storage/errors.ts"
import { GroupCommitter } from "../../../src/storage/group-commit.ts"
import { persistReady } from "../../../src/storage/service.ts"
import { type SyncDone, walSyncer } from "../../../src/storage/wal-sync.ts"
import { type Harness, openStore, seededBytes, withDb } from "./harness.ts"
import { indexes, ready, run } from "./suite-log.ts"

/** A schedule that only records: the test decides when to flush. */
const manual = () => {
  const queued: (() => void)[] = []
  return {
    schedule: (f: () => void) => void queued.push(f),
    runAll: () => {
      for (const f of queued.splice(0)) f()
    },
  }
}

/** A `sync` the test completes by hand, recording how many calls are outstanding. */
const manualSync = () => {
  const calls: SyncDone[] = []
  return {
    sync: (done: SyncDone) => void calls.push(done),
    get outstanding() {
      return calls.length
    },
    complete: (error: Error | null = null) => calls.shift()?.(error),
  }
}

export const spaceAndCommitSuite = (h: Harness): void => {
  const { driver, test } = h
  const name = driver.name

  test(`${name}: compaction then bounded reclaim steps shrink the freelist and the file to zero free pages`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      assert.equal(store.space().autoVacuum, "incremental")
      const entries = run(1, 600, 1).map((e) => ({ ...e, data: seededBytes(e.index, 2000) }))
      for (let i = 0; i < entries.length; i += 100)
        store.persistReady(1, ready({ entries: entries.slice(i, i + 100) }))
      const full = store.space()
      store.compact(1, 590)
      const afterCompaction = store.space()
      assert.ok(afterCompaction.freelistPages > 100, `freelist ${afterCompaction.freelistPages}`)
      assert.equal(afterCompaction.pageCount, full.pageCount) // deletion alone frees nothing on disk
      let steps = 0
      let freelist = afterCompaction.freelistPages
      while (freelist > 0) {
        const step = store.reclaimSpace(64)
        assert.ok(
          step.reclaimedPages > 0 && step.reclaimedPages <= 64,
          `step reclaimed ${step.reclaimedPages}`,
        )
        assert.equal(step.freelistPages, freelist - step.reclaimedPages)
        freelist = step.freelistPages
        steps++
      }
      assert.ok(steps >= 2, "reclaiming took several bounded steps")
      const end = store.space()
      assert.equal(end.freelistPages, 0)
      assert.ok(end.pageCount < full.pageCount - 100, `pages ${full.pageCount} -> ${end.pageCount}`)
      assert.deepEqual(store.reclaimSpace(64), { reclaimedPages: 0, freelistPages: 0 })
      assert.deepEqual(indexes(store.load(1).entries), [591, 592, 593, 594, 595, 596, 597, 598, 599, 600])
    }))

  test(`${name}: Readys of many groups submitted together share one transaction`, async () =>
    withDb(driver, async ({ open }) => {
      const store = openStore(open())
      const clock = manual()
      const committer = new GroupCommitter(store, { schedule: clock.schedule })
      const done: Promise<void>[] = []
      for (let round = 0; round < 10; round++) {
        for (let g = 1; g <= 5; g++) {
          const index = round + 1
          done.push(
            committer.submit(
              g,
              ready({ entries: run(index, index, 1), hardState: { term: 1, vote: null, commit: round } }),
            ),
          )
        }
      }
      assert.equal(committer.pending, 50)
      assert.equal(store.load(1).entries.length, 0) // nothing durable before the flush
      clock.runAll()
      await Promise.all(done)
      assert.deepEqual(committer.stats, {
        transactions: 1,
        readys: 50,
        entries: 50,
        failedReadys: 0,
        syncs: 0,
      })
      for (let g = 1; g <= 5; g++) {
        const loaded = store.load(g)
        assert.equal(loaded.entries.length, 10)
        assert.equal(loaded.hardState.commit, 9)
      }
    }))

  test(`${name}: with the default schedule, concurrent submissions are batched`, async () =>
    withDb(driver, async ({ open }) => {
      const store = openStore(open())
      const committer = new GroupCommitter(store)
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => committer.submit(1, ready({ entries: run(i + 1, i + 1, 1) }))),
      )
      assert.equal(committer.stats.entries, 100)
      assert.equal(committer.stats.transactions, 1)
      assert.equal(store.lastIndex(1), 100)
    }))

  test(`${name}: one bad Ready in a batch fails alone; the others are durable`, async () =>
    withDb(driver, async ({ open }) => {
      const store = openStore(open())
      const clock = manual()
      const committer = new GroupCommitter(store, { schedule: clock.schedule })
      const a = committer.submit(1, ready({ entries: run(1, 3, 1) }))
      const bad = committer.submit(
        2,
        ready({ entries: run(5, 6, 1), hardState: { term: 7, vote: null, commit: 0 } }),
      )
      const b = committer.submit(1, ready({ entries: run(4, 4, 1) }))
      clock.runAll()
      await a
      await b
      await assert.rejects(bad, LogStoreError)
      assert.equal(store.lastIndex(1), 4)
      assert.equal(store.lastIndex(2), 0)
      assert.equal(store.hardState(2).term, 0)
      assert.equal(committer.stats.failedReadys, 1)
    }))

  test(`${name}: a large backlog is split by maxBatchEntries, in submission order`, () =>
    withDb(driver, ({ open }) => {
      const store = openStore(open())
      const clock = manual()
      const committer = new GroupCommitter(store, { schedule: clock.schedule, maxBatchEntries: 25 })
      const order: number[] = []
      for (let i = 0; i < 10; i++) {
        committer.submitWith(1, ready({ entries: run(i * 10 + 1, i * 10 + 10, 1) }), (e) => {
          assert.equal(e, null)
          order.push(i)
        })
      }
      assert.equal(committer.flush(), 5)
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      assert.equal(store.lastIndex(1), 100)
    }))

  test(`${name}: persistReady is the Effect form of submit`, async () =>
    withDb(driver, async ({ open }) => {
      const store = openStore(open())
      const committer = new GroupCommitter(store)
      await Effect.runPromise(persistReady(committer, 1, ready({ entries: run(1, 2, 1) })))
      const exit = await Effect.runPromiseExit(persistReady(committer, 1, ready({ entries: run(9, 9, 1) })))
      assert.ok(Exit.isFailure(exit))
      assert.equal(store.lastIndex(1), 2)
    }))

  test(`${name}: with a sync, Readys are acknowledged only after the sync that covers their commit`, async () =>
    withDb(driver, async ({ open }) => {
      const store = openStore(open())
      const clock = manual()
      const disk = manualSync()
      const committer = new GroupCommitter(store, { schedule: clock.schedule, sync: disk.sync })
      const heard: string[] = []
      const submit = (label: string, from: number, to: number) =>
        committer.submitWith(1, ready({ entries: run(from, to, 1) }), (e) => heard.push(`${label}:${e}`))
      submit("a", 1, 2)
      submit("b", 3, 3)
      clock.runAll()
      // Committed (visible to this connection) but not yet acknowledged: the sync is running.
      assert.equal(store.lastIndex(1), 3)
      assert.deepEqual(heard, [])
      assert.equal(disk.outstanding, 1)
      // Committed while that sync runs: it may not be covered by it, so it waits for the next.
      submit("c", 4, 4)
      clock.runAll()
      assert.equal(disk.outstanding, 1, "one sync at a time")
      disk.complete()
      assert.deepEqual(heard, ["a:null", "b:null"])
      assert.equal(disk.outstanding, 1, "the next sync starts for what was committed meanwhile")
      disk.complete()
      assert.deepEqual(heard, ["a:null", "b:null", "c:null"])
      assert.equal(committer.pending, 0)
      assert.equal(committer.stats.syncs, 2)
      assert.equal(committer.stats.transactions, 2)
    }))

  test(`${name}: a failed sync fails the Readys it covered and every later one`, async () =>
    withDb(driver, async ({ open }) => {
      const store = openStore(open())
      const clock = manual()
      const disk = manualSync()
      const committer = new GroupCommitter(store, { schedule: clock.schedule, sync: disk.sync })
      const first = committer.submit(1, ready({ entries: run(1, 1, 1) }))
      clock.runAll()
      disk.complete(new Error("EIO"))
      await assert.rejects(first, /EIO/)
      const later = committer.submit(1, ready({ entries: run(2, 2, 1) }))
      clock.runAll()
      await assert.rejects(later, /EIO/)
      assert.equal(disk.outstanding, 0, "no further sync is attempted")
      assert.equal(store.lastIndex(1), 1, "nothing more is written after a failed sync")
    }))

  test(`${name}: walSyncer syncs a real WAL and fails clearly when it is gone`, async () =>
    withDb(driver, async ({ open, path, dir }) => {
      const store = openStore(open())
      const syncer = walSyncer(path)
      try {
        const committer = new GroupCommitter(store, { sync: syncer.sync })
        await Promise.all([1, 2, 3].map((i) => committer.submit(1, ready({ entries: run(i, i, 1) }))))
        assert.equal(committer.stats.syncs, 1)
        assert.equal(store.lastIndex(1), 3)
      } finally {
        syncer.close()
      }
      const missing = walSyncer(`${dir}/absent.db`)
      const error = await new Promise<Error | null>((resolve) => missing.sync(resolve))
      assert.match(String(error), /absent\.db-wal/)
    }))
}
