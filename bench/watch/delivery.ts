/**
 * Watch engine benchmark (one node: a real KvStateMachine on SQLite and the real WatchHub with
 * its fibers, fed exactly as the apply loop feeds it). For 1k, 10k and 100k watchers:
 *  - spread: every watcher on its own key (exact keys and 10-key prefixes); puts to watched keys
 *    one after another; latency from the apply loop's report to the watcher's sink, p50/p99/max;
 *  - fan-out: every watcher on one prefix; one put reaches all of them; time until the last one;
 *  - memory per registered watcher (heap growth / watchers; a gRPC stream costs more on top).
 *
 *   bun bench/watch/delivery.ts [--watchers 1000,10000,100000] [--events 2000]
 * Progress on stderr, the table on stdout. Noisy on a busy machine: run it alone.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { type HubWatch, WatchHub } from "../../actors/watch-hub.ts"
import { KvStateMachine } from "../../src/kv/state-machine.ts"
import type { KeySpan } from "../../src/kv/store.ts"
import { prefixEnd } from "../../src/kv/watch/key-matcher.ts"
import { bunSqliteDriver } from "../../src/storage/bun-sqlite.ts"

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  console.log(
    "usage: bun bench/watch/delivery.ts [--watchers 1000,10000,100000] [--events 2000]\n" +
      "Event delivery latency (p50/p99) and memory per watcher of the WatchHub on one node.",
  )
  process.exit(0)
}
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const COUNTS = flag("--watchers", "1000,10000,100000").split(",").map(Number)
const EVENTS = Number(flag("--events", "2000"))
const enc = new TextEncoder()
const keyOf = (i: number) => enc.encode(`/bench/k/${String(i).padStart(7, "0")}`)

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
const fmt = (ms: number) => `${ms.toFixed(3)} ms`
const gc = () => Bun.gc(true)

interface Row {
  watchers: number
  spreadP50: number
  spreadP99: number
  spreadMax: number
  fanoutAll: number
  bytesPerWatcher: number
}

const runOne = async (n: number): Promise<Row> => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-watch-bench-"))
  const db = bunSqliteDriver.open(join(dir, "kv.db"), { synchronous: "OFF" })
  const sm = KvStateMachine.open(db, { group: 1 })
  const scope = Effect.runSync(Scope.make())
  const hub = await Effect.runPromise(WatchHub.make({ group: 1, source: () => sm }))
  await Effect.runPromise(Scope.extend(hub.run, scope))
  let index = 0
  /** Applies a put and reports it; `sentAt` records when the hub was told (what latency counts from). */
  const sentAt = new Map<number, number>()
  const put = (key: Uint8Array) => {
    const r = sm.apply(++index, { type: "put", request: { key, value: enc.encode("v") } })
    sentAt.set(r.revision, performance.now())
    hub.applied(r.revision, r.events)
  }
  put(enc.encode("/bench/start"))
  const latencies: number[] = []
  const sink = {
    events: (revision: number) => {
      const sent = sentAt.get(revision)
      if (sent !== undefined) latencies.push(performance.now() - sent)
    },
    compacted: () => {},
    progress: () => {},
    cancelled: () => {},
    backlog: () => 0,
  }
  gc()
  const before = process.memoryUsage().heapUsed
  const watches: HubWatch[] = []
  for (let i = 0; i < n; i++) {
    // Nine in ten on one key, one in ten on a 10-key prefix.
    const span: KeySpan =
      i % 10 === 9
        ? { kind: "between", key: keyOf(i).subarray(0, -1), end: prefixEnd(keyOf(i).subarray(0, -1))! }
        : { kind: "one", key: keyOf(i) }
    watches.push(
      hub.watch(
        { tenant: "default", span, startRevision: sm.revision + 1, prevKv: false, progressNotify: false },
        sink,
      ),
    )
  }
  gc()
  const bytesPerWatcher = (process.memoryUsage().heapUsed - before) / n
  process.stderr.write(`  ${n} watchers registered (${hub.stats().synced} synced)\n`)

  // spread: puts to watched keys, one at a time, letting delivery happen in between.
  let seed = 12345
  const rand = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 2 ** 32
  }
  for (let e = 0; e < EVENTS; e++) {
    const k = keyOf(Math.floor(rand() * n))
    put(k)
    // Like the apply loop between batches: let the hub's delivery fiber run.
    await Bun.sleep(0)
  }
  for (let i = 0; i < 1000 && hub.stats().pendingEvents > 0; i++) await Bun.sleep(1)
  await Bun.sleep(5)
  const spread = [...latencies].sort((a, b) => a - b)

  // fan-out: everyone on one prefix, one put.
  for (const w of watches) w.cancel()
  const prefix = enc.encode("/bench/fan/")
  let reached = 0
  let fanStart = 0
  let fanEnd = 0
  const fanSink = {
    ...sink,
    events: () => {
      reached++
      if (reached === n) fanEnd = performance.now()
    },
  }
  for (let i = 0; i < n; i++)
    hub.watch(
      {
        tenant: "default",
        span: { kind: "between", key: prefix, end: prefixEnd(prefix)! },
        startRevision: sm.revision + 1,
        prevKv: false,
        progressNotify: false,
      },
      fanSink,
    )
  fanStart = performance.now()
  put(enc.encode("/bench/fan/x"))
  for (let i = 0; i < 10_000 && reached < n; i++) await Bun.sleep(1)
  await Effect.runPromise(Scope.close(scope, Exit.void))
  db.close()
  rmSync(dir, { recursive: true, force: true })
  return {
    watchers: n,
    spreadP50: percentile(spread, 0.5),
    spreadP99: percentile(spread, 0.99),
    spreadMax: spread[spread.length - 1] ?? 0,
    fanoutAll: fanEnd - fanStart,
    bytesPerWatcher,
  }
}

const rows: Row[] = []
for (const n of COUNTS) {
  process.stderr.write(`watch bench: ${n} watchers, ${EVENTS} events…\n`)
  rows.push(await runOne(n))
}
console.log(
  "| watchers | spread p50 | spread p99 | spread max | fan-out: all watchers got 1 event | heap per watcher |",
)
console.log("|---:|---:|---:|---:|---:|---:|")
for (const r of rows)
  console.log(
    `| ${r.watchers} | ${fmt(r.spreadP50)} | ${fmt(r.spreadP99)} | ${fmt(r.spreadMax)} | ${fmt(r.fanoutAll)} | ${Math.round(r.bytesPerWatcher)} B |`,
  )
