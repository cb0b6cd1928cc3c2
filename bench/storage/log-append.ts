/**
 * Raft log append throughput with fsync (synchronous=FULL, WAL), on real files.
 *
 * 1. By batch size: 1, 10, 100, 1000 entries per transaction (one transaction = one fsync of
 *    the WAL): entries/s, fsyncs/s, bytes on disk per entry.
 * 2. Group commit: many groups submit one-entry Readys concurrently; the committer shares one
 *    transaction between all Readys of an event-loop turn: entries/s and fsyncs/s.
 *
 *   bun bench/storage/log-append.ts [--seconds 2] [--entry-bytes 256] [--driver bun|node|both]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Entry } from "../../schemas/raft.ts"
import { bunSqliteDriver } from "../../src/storage/bun-sqlite.ts"
import type { SqliteDriverImpl } from "../../src/storage/driver.ts"
import { GroupCommitter } from "../../src/storage/group-commit.ts"
import { LogStore, type ReadyToPersist } from "../../src/storage/log-store.ts"
import { nodeSqliteDriver } from "../../src/storage/node-sqlite.ts"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const SECONDS = Number(arg("seconds", "2"))
const ENTRY_BYTES = Number(arg("entry-bytes", "256"))
const DRIVERS: SqliteDriverImpl[] = {
  bun: [bunSqliteDriver],
  node: [nodeSqliteDriver],
  both: [bunSqliteDriver, nodeSqliteDriver],
}[arg("driver", "both")] ?? [bunSqliteDriver]

const payload = new Uint8Array(ENTRY_BYTES).map((_, i) => (i * 31) & 0xff)

const ready = (entries: Entry[], commit: number): ReadyToPersist => ({
  hardState: { term: 1, vote: "n1", commit },
  truncateFrom: null,
  entries,
  snapshot: null,
  compactTo: null,
})

const makeEntries = (from: number, n: number): Entry[] =>
  Array.from({ length: n }, (_, i) => ({ index: from + i, term: 1, type: "normal" as const, data: payload }))

const diskBytes = (path: string): number =>
  ["", "-wal"].reduce((sum, suffix) => {
    try {
      return sum + statSync(path + suffix).size
    } catch {
      return sum
    }
  }, 0)

const withStore = async <T>(
  driver: SqliteDriverImpl,
  fn: (store: LogStore, path: string) => Promise<T> | T,
) => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-bench-log-"))
  const path = join(dir, "node.db")
  const db = driver.open(path, { synchronous: "FULL" })
  try {
    return await fn(LogStore.open(db), path)
  } finally {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")

const byBatchSize = async (driver: SqliteDriverImpl, batch: number) =>
  withStore(driver, (store, path) => {
    let next = 1
    let txns = 0
    const t0 = performance.now()
    let elapsed = 0
    while (elapsed < SECONDS * 1000) {
      store.persistReady(1, ready(makeEntries(next, batch), next - 1))
      next += batch
      txns++
      elapsed = performance.now() - t0
    }
    const entries = next - 1
    // Checkpoint so that the size on disk is the log's, not a transient WAL.
    store.db.pragma("wal_checkpoint(TRUNCATE)")
    return {
      entriesPerSec: (entries / elapsed) * 1000,
      fsyncsPerSec: (txns / elapsed) * 1000,
      bytesPerEntry: diskBytes(path) / entries,
    }
  })

const groupCommit = async (driver: SqliteDriverImpl, groups: number) =>
  withStore(driver, async (store) => {
    const committer = new GroupCommitter(store)
    const next = new Map<number, number>()
    const t0 = performance.now()
    let stop = false
    const proposer = async (group: number) => {
      while (!stop) {
        const index = next.get(group) ?? 1
        next.set(group, index + 1)
        await committer.submit(group, ready(makeEntries(index, 1), index - 1))
        if (performance.now() - t0 > SECONDS * 1000) stop = true
      }
    }
    await Promise.all(Array.from({ length: groups }, (_, g) => proposer(g + 1)))
    const elapsed = performance.now() - t0
    const s = committer.stats
    return {
      entriesPerSec: (s.entries / elapsed) * 1000,
      fsyncsPerSec: (s.transactions / elapsed) * 1000,
      readysPerTxn: s.readys / s.transactions,
    }
  })

console.log(`log append, synchronous=FULL (WAL), ${ENTRY_BYTES} B entries, ${SECONDS} s per row`)
for (const driver of DRIVERS) {
  console.log(`\n${driver.name}: entries per transaction`)
  console.log("batch      entries/s     fsyncs/s   bytes on disk/entry")
  for (const batch of [1, 10, 100, 1000]) {
    const r = await byBatchSize(driver, batch)
    console.log(
      `${String(batch).padStart(5)} ${fmt(r.entriesPerSec).padStart(14)} ${fmt(r.fsyncsPerSec).padStart(12)} ${r.bytesPerEntry.toFixed(0).padStart(21)}`,
    )
  }
  console.log(`\n${driver.name}: group commit, one-entry Readys from concurrent groups`)
  console.log("groups     entries/s     fsyncs/s   Readys/transaction")
  for (const groups of [1, 16, 256]) {
    const r = await groupCommit(driver, groups)
    console.log(
      `${String(groups).padStart(6)} ${fmt(r.entriesPerSec).padStart(13)} ${fmt(r.fsyncsPerSec).padStart(12)} ${r.readysPerTxn.toFixed(1).padStart(20)}`,
    )
  }
}
