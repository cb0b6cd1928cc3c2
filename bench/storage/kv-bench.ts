/**
 * KV state machine benchmark:
 *  - apply throughput (puts/s) with N entries per SQLite transaction, synchronous=FULL;
 *  - range throughput over KV_BENCH_KEYS keys (default 1,000,000): point gets and
 *    10-key ranges at random places;
 *  - bytes on disk and memory per key beyond key+value.
 *
 *   bun bench/storage/kv-bench.ts            (KV_BENCH_KEYS=100000 for a quick run)
 */
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { KvCommand } from "../../schemas/kv.ts"
import { decodeCommand, encodeCommand } from "../../src/kv/codec.ts"
import { KvStateMachine } from "../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../src/storage/bun-sqlite.ts"

const KEYS = Number(process.env.KV_BENCH_KEYS ?? 1_000_000)
const APPLY_PUTS = Number(process.env.KV_BENCH_APPLY_PUTS ?? 20_000)
const RANGE_OPS = Number(process.env.KV_BENCH_RANGE_OPS ?? 100_000)
const VALUE_BYTES = 100

/** xorshift32: seeded, deterministic. */
const prng = (seed: number) => () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 2 ** 32
}
const enc = new TextEncoder()
const keyOf = (i: number): Uint8Array =>
  enc.encode(`/registry/pods/ns-${i % 100}/pod-${String(i).padStart(8, "0")}`)
const value = new Uint8Array(VALUE_BYTES).fill(120)

/** KV_BENCH_MMAP_MB (default 0 = the driver's defaults) maps the file: a tuning knob to compare. */
const MMAP_MB = Number(process.env.KV_BENCH_MMAP_MB ?? 0)
/** KV_BENCH_CACHE_MB (default 0 = SQLite's 2 MiB page cache) enlarges the page cache. */
const CACHE_MB = Number(process.env.KV_BENCH_CACHE_MB ?? 0)

const open = (dir: string, name: string) => {
  const db = bunSqliteDriver.open(join(dir, name), { synchronous: "FULL" })
  if (MMAP_MB > 0) db.exec(`PRAGMA mmap_size = ${MMAP_MB * 2 ** 20}`)
  if (CACHE_MB > 0) db.exec(`PRAGMA cache_size = -${CACHE_MB * 1024}`)
  return { db, sm: KvStateMachine.open(db, { group: 1 }) }
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")

const dir = mkdtempSync(join(tmpdir(), "lattice-kv-bench-"))
try {
  console.log(
    `# KV state machine bench (bun ${Bun.version}, ${KEYS.toLocaleString()} keys, mmap ${MMAP_MB} MiB, cache ${CACHE_MB || 2} MiB)`,
  )

  // ---- apply throughput, by entries per transaction ----
  for (const batch of [1, 10, 100, 1000]) {
    const { db, sm } = open(dir, `apply-${batch}.db`)
    const total = batch === 1 ? Math.min(APPLY_PUTS, 5000) : APPLY_PUTS
    const t0 = performance.now()
    for (let i = 0; i < total; i += batch) {
      const entries = []
      for (let j = 0; j < batch && i + j < total; j++) {
        const command: KvCommand = { type: "put", request: { key: keyOf(i + j), value } }
        // Decode from bytes, as the apply loop does with Raft entries.
        entries.push({ index: sm.appliedIndex + 1 + j, command: decodeRoundTrip(command) })
      }
      sm.applyBatch(entries)
    }
    const secs = (performance.now() - t0) / 1000
    console.log(
      `apply  batch=${String(batch).padStart(4)}  ${fmt(total / secs).padStart(9)} puts/s  (synchronous=FULL)`,
    )
    db.close()
  }

  // ---- fill KEYS keys, then measure space and memory ----
  Bun.gc(true)
  const memBefore = process.memoryUsage()
  const { db, sm } = open(dir, "range.db")
  const t0 = performance.now()
  let payload = 0
  for (let i = 0; i < KEYS; i += 1000) {
    const entries = []
    for (let j = 0; j < 1000 && i + j < KEYS; j++) {
      const key = keyOf(i + j)
      payload += key.length + VALUE_BYTES
      entries.push({
        index: sm.appliedIndex + 1 + j,
        command: { type: "put", request: { key, value } } as KvCommand,
      })
    }
    sm.applyBatch(entries)
  }
  const fillSecs = (performance.now() - t0) / 1000
  console.log(
    `fill   ${fmt(KEYS)} keys in ${fillSecs.toFixed(1)} s (${fmt(KEYS / fillSecs)} puts/s, batch=1000)`,
  )
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
  const fileBytes = statSync(join(dir, "range.db")).size
  const avgData = payload / KEYS
  console.log(
    `disk   ${(fileBytes / KEYS).toFixed(1)} B/key on disk, key+value ${avgData.toFixed(1)} B -> overhead ${(fileBytes / KEYS - avgData).toFixed(1)} B/key`,
  )
  Bun.gc(true)
  const memAfter = process.memoryUsage()
  const perKey = (a: number, b: number): string => `${(Math.max(0, a - b) / KEYS).toFixed(1)} B/key`
  console.log(
    `memory after ${fmt(KEYS)} keys: RSS +${perKey(memAfter.rss, memBefore.rss)}, JS heap +${perKey(memAfter.heapUsed, memBefore.heapUsed)} (no per-key JS state; SQLite cache is bounded)`,
  )

  // ---- range throughput ----
  const rand = prng(42)
  let t = performance.now()
  let found = 0
  for (let i = 0; i < RANGE_OPS; i++) {
    const r = sm.range({ key: keyOf(Math.floor(rand() * KEYS)) })
    if (!(r instanceof Error)) found += r.kvs.length
  }
  let secs = (performance.now() - t) / 1000
  console.log(`range  point get           ${fmt(RANGE_OPS / secs).padStart(9)} ops/s (${found} found)`)
  t = performance.now()
  const rangeOps = RANGE_OPS / 4
  for (let i = 0; i < rangeOps; i++) {
    const start = keyOf(Math.floor(rand() * KEYS))
    const end = start.slice()
    end[end.length - 1]! += 1
    sm.range({ key: start.slice(0, start.length - 1), rangeEnd: end, limit: 10 })
  }
  secs = (performance.now() - t) / 1000
  console.log(`range  10-key range, limit ${fmt(rangeOps / secs).padStart(9)} ops/s`)
  t = performance.now()
  const n = 3
  for (let i = 0; i < n; i++)
    sm.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), countOnly: true })
  secs = (performance.now() - t) / 1000
  console.log(`range  count_only over all ${(secs / n).toFixed(2)} s per full count`)

  // ---- hash, snapshot, compaction over the whole store ----
  t = performance.now()
  sm.hash()
  console.log(`hash   whole state ${((performance.now() - t) / 1000).toFixed(2)} s`)
  t = performance.now()
  let snapBytes = 0
  let snapChunks = 0
  for (const chunk of sm.snapshot()) {
    snapBytes += chunk.length
    snapChunks++
  }
  console.log(
    `snap   ${(snapBytes / 2 ** 20).toFixed(1)} MiB in ${snapChunks} chunks, ${((performance.now() - t) / 1000).toFixed(2)} s`,
  )
  // Overwrite 10% of the keys, compact, and sweep in 1000-key steps.
  for (let i = 0; i < KEYS / 10; i += 1000) {
    const entries = []
    for (let j = 0; j < 1000 && i + j < KEYS / 10; j++) {
      entries.push({
        index: sm.appliedIndex + 1 + j,
        command: { type: "put", request: { key: keyOf(i + j), value } } as KvCommand,
      })
    }
    sm.applyBatch(entries)
  }
  sm.apply(sm.appliedIndex + 1, { type: "compact", request: { revision: sm.revision } })
  t = performance.now()
  let steps = 0
  let worst = 0
  for (;;) {
    const s0 = performance.now()
    const done = sm.compactStep(1000)
    worst = Math.max(worst, performance.now() - s0)
    steps++
    if (done) break
  }
  console.log(
    `compact sweep ${steps} steps of 1000 keys in ${((performance.now() - t) / 1000).toFixed(1)} s, longest step ${worst.toFixed(1)} ms`,
  )
  db.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}

function decodeRoundTrip(c: KvCommand): KvCommand {
  return decodeCommand(encodeCommand(c))
}
