/**
 * Helpers shared by the real-process tests: a bounded-width async pool, a retry for calls that
 * may meet an election, the mixed watch specs of the failover watch tests, and the end-of-test
 * watch check (every watcher reaches the end of the committed history, then passes the
 * validators), the put/delete writer that runs through a failover, and a lease renewer that
 * catches early expiries.
 */
import { expect } from "bun:test"
import type { FailoverWatchClient } from "./etcd-watch-client.ts"
import { type CommittedEvent, checkWatch, type WatchRunSpec } from "./watch-validators.ts"

/** Runs `fn` over `items` with at most `width` in flight. */
export const pool = async <T>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> => {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        await fn(items[i]!, i)
      }
    }),
  )
}

/** Retries a call that may meet an election (UNAVAILABLE) a few times. */
export const retry = async <A>(fn: () => Promise<A>, attempts = 20): Promise<A> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= attempts) throw error
      await Bun.sleep(200)
    }
  }
}

/**
 * 50 watchers for stream `stream`: exact keys, prefixes, ranges, with and without prev_kv,
 * NODELETE, all under "w" (so a test's other keys can stay out of them).
 */
export const mixedWatchSpecs = (stream: number): WatchRunSpec[] =>
  Array.from({ length: 50 }, (_, i): WatchRunSpec => {
    const n = stream * 50 + i
    switch (n % 5) {
      case 0:
        return { key: `w${n % 40}`, startRevision: 1, prevKv: true }
      case 1:
        return { key: "w", rangeEnd: "x", startRevision: 1, prevKv: n % 2 === 0 }
      case 2:
        return { key: `w${n % 10}`, rangeEnd: `w${n % 10}~`, startRevision: 1 }
      case 3:
        return { key: "w1", rangeEnd: "w3", startRevision: 1, noDelete: true }
      default:
        return { key: "w", rangeEnd: "", startRevision: 1, prevKv: true }
    }
  })

const matches = (spec: WatchRunSpec, e: CommittedEvent): boolean =>
  (spec.rangeEnd === undefined
    ? e.key === spec.key
    : e.key >= spec.key && (spec.rangeEnd === "" || e.key < spec.rangeEnd)) &&
  !(spec.noDelete && e.type === "delete")

/**
 * Waits until every watcher has reached the last committed event it matches, then checks each
 * one's joined sessions with the watch validators. Returns the events delivered and the stream
 * reconnects.
 */
export const expectWatchersComplete = async (
  clients: readonly FailoverWatchClient[],
  history: readonly CommittedEvent[],
): Promise<{ events: number; reconnects: number }> => {
  const last = history[history.length - 1]!.revision
  for (const client of clients) {
    await client.until(
      () =>
        client.runs().every(({ run }, i) => {
          const mine = history.filter((e) => matches(run.spec, e))
          return client.lastRevision(i) >= (mine.at(-1)?.revision ?? 0)
        }),
      30_000,
      "every watcher to reach the end of the history",
    )
  }
  let events = 0
  for (const client of clients) {
    for (const { run, violations } of client.runs(last)) {
      const problems = [...violations, ...checkWatch(history, run)]
      expect({ spec: run.spec, problems: problems.slice(0, 5) }).toEqual({ spec: run.spec, problems: [] })
      for (const o of run.observations) if (o.kind === "events") events += o.events.length
    }
  }
  return { events, reconnects: clients.reduce((s, w) => s + w.streams - 1, 0) }
}

/**
 * A writer that puts and deletes keys w0..w39 (every 7th request a delete) through every node in
 * turn, over the JSON gateway, until stopped; counts the writes acknowledged with 200.
 */
export class MixedWriter {
  acked = 0
  private stopped = false
  private readonly loop: Promise<void>

  constructor(
    call: (via: string, path: string, body: unknown) => Promise<{ readonly status: number }>,
    ids: readonly string[],
  ) {
    const b64 = (s: string) => Buffer.from(s).toString("base64")
    this.loop = (async () => {
      for (let n = 0; !this.stopped; ) {
        const key = `w${n % 40}`
        const via = ids[n % ids.length]!
        const path = n % 7 === 6 ? "/v3/kv/deleterange" : "/v3/kv/put"
        n++
        try {
          const r = await call(via, path, { key: b64(key), value: b64(`v${n}`) })
          if (r.status === 200) this.acked++
        } catch {
          // a dead or electing node: not acknowledged
        }
      }
    })()
  }

  /** Waits (up to 30 s) until at least `count` writes were acknowledged. */
  async ackedAtLeast(count: number): Promise<void> {
    for (let i = 0; i < 3000 && this.acked < count; i++) await Bun.sleep(10)
    expect(this.acked).toBeGreaterThanOrEqual(count)
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.loop
  }
}

interface KeepAliveStream {
  send(id: bigint): void
  close(): void
}

/**
 * Keeps leases alive through several keep-alive streams, one stream per round in turn, and
 * records every kept lease answered with a TTL <= 0: an early expiry.
 */
export class LeaseRenewer {
  readonly kept: bigint[] = []
  readonly expiredEarly = new Set<bigint>()
  private readonly keptSet = new Set<bigint>()
  private readonly streams: KeepAliveStream[]
  private renewing = true
  private readonly loop: Promise<void>

  constructor(
    open: readonly ((onResponse: (r: { ID?: bigint; TTL?: bigint }) => void) => KeepAliveStream)[],
    everyMs: number,
  ) {
    const streams = open.map((keepAlive) =>
      keepAlive((r) => {
        if (this.keptSet.has(r.ID ?? 0n) && (r.TTL ?? 0n) <= 0n) this.expiredEarly.add(r.ID ?? 0n)
      }),
    )
    this.streams = streams
    this.loop = (async () => {
      for (let round = 0; this.renewing; round++) {
        const s = streams[round % streams.length]!
        for (const id of this.kept) s.send(id)
        await Bun.sleep(everyMs)
      }
    })()
  }

  keep(id: bigint): void {
    this.kept.push(id)
    this.keptSet.add(id)
  }

  async stop(): Promise<void> {
    this.renewing = false
    await this.loop
    for (const s of this.streams) s.close()
  }
}
