/**
 * Watches across a leader SIGKILL, on 3 real `lattice start` processes over a real nats-server:
 * 300 watchers (exact keys, prefixes, ranges, with and without prev_kv, NODELETE) multiplexed on
 * 6 failover streams spread over the members, while a writer puts and deletes through every
 * node. The leader is killed; streams on it reconnect to another member and resume from their
 * last revision + 1; the killed node restarts. Then every watcher's run is checked by the watch
 * validators against the committed history: ordered, unique, atomic, reliable (no event lost),
 * resumable, bookmarkable, correct prev_kv.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { FailoverWatchClient } from "../../support/etcd-watch-client.ts"
import { readCommittedHistory, readSettledHistory } from "../../support/kv-history.ts"
import { expectWatchersComplete, MixedWriter, mixedWatchSpecs } from "../../support/process-test-helpers.ts"
import { hasNats, processCluster } from "./process-cluster.ts"

const IDS = ["n1", "n2", "n3"]

describe.skipIf(!hasNats)("watches across a leader SIGKILL (3 processes)", () => {
  const c = processCluster(IDS, [])
  const clients: FailoverWatchClient[] = []
  afterAll(() => {
    for (const w of clients) w.close()
  })

  test("no watcher loses, repeats or splits an event; resumed streams continue exactly", async () => {
    const leader = await c.leaderOf(IDS)
    const endpoints = IDS.map((id) => c.etcdEndpoint(id))
    for (let s = 0; s < 6; s++) clients.push(new FailoverWatchClient(endpoints, mixedWatchSpecs(s), s))
    const writer = new MixedWriter((via, path, body) => c.call(via, path, body), IDS)
    await writer.ackedAtLeast(50)
    for (const w of clients) w.requestProgress()
    await c.kill(leader)
    await c.leaderOf(IDS.filter((id) => id !== leader))
    await writer.ackedAtLeast(writer.acked + 50)
    c.spawn(leader)
    await c.leaderOf(IDS)
    await writer.ackedAtLeast(writer.acked + 30)
    for (const w of clients) w.requestProgress()
    await writer.stop()
    // Everything committed is on every member now; take the history from a survivor.
    const survivor = IDS.find((id) => id !== leader)!
    let history = await readSettledHistory(join(c.dataDir(survivor), "kv-1.db"))
    const last = history[history.length - 1]!.revision
    for (
      let i = 0;
      i < 100 && readCommittedHistory(join(c.dataDir(leader), "kv-1.db")).at(-1)?.revision !== last;
      i++
    )
      await Bun.sleep(50)
    history = await readSettledHistory(join(c.dataDir(survivor), "kv-1.db"))
    const { events, reconnects } = await expectWatchersComplete(clients, history)
    expect(reconnects).toBeGreaterThanOrEqual(2) // the streams on the killed leader moved
    expect(events).toBeGreaterThan(1000)
    console.log(
      `watch-processes: ${history.length} committed events, ${events} delivered to 300 watchers, ${reconnects} stream reconnects`,
    )
  }, 120_000)
})
