/**
 * Helpers shared by the real-process tests: a bounded-width async pool, a retry for calls that
 * may meet an election, the mixed watch specs of the failover watch tests, and the end-of-test
 * watch check (every watcher reaches the end of the committed history, then passes the
 * validators).
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
