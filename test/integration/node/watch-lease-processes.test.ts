/**
 * The leader's process is SIGKILLed while 1,000 watchers and 1,000 leases are active, on 3 real
 * `lattice start` processes over a real nats-server:
 *  - 1,000 watchers (20 failover streams of 50: exact keys, prefixes, ranges, prev_kv,
 *    NODELETE) spread over the members, while a writer puts and deletes through every node;
 *  - 1,000 leases with a key each, kept alive through the two followers' keep-alive streams;
 *  - 100 more leases with a watched key each, granted just before the kill and never renewed.
 * After the failover and the old leader's restart: no watcher lost, repeated or split an event
 * (the watch validators against the committed history, which includes the expiries' deletions);
 * no kept lease expired (no zero-TTL keep-alive answer, every key on every node); the unrenewed
 * ones did not expire before their TTL, then expired and deleted their keys on every node.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { FailoverWatchClient } from "../../support/etcd-watch-client.ts"
import { readCommittedHistory, readSettledHistory } from "../../support/kv-history.ts"
import { LeaseClient } from "../../support/lease-client.ts"
import {
  expectWatchersComplete,
  LeaseRenewer,
  MixedWriter,
  mixedWatchSpecs,
  pool,
  retry,
} from "../../support/process-test-helpers.ts"
import { hasNats, processCluster } from "./process-cluster.ts"

const IDS = ["n1", "n2", "n3"]
const STREAMS = 20
const KEPT = 1000
const DOOMED = 100
const KEPT_TTL_S = 6
const DOOMED_TTL_S = 4
const RENEW_EVERY_MS = 1000

const enc = (s: string) => new TextEncoder().encode(s)

describe.skipIf(!hasNats)("1,000 watchers and 1,000 leases across a leader SIGKILL (3 processes)", () => {
  const c = processCluster(IDS, [])
  const watchClients: FailoverWatchClient[] = []
  const leaseClients = new Map<string, LeaseClient>()
  const client = (id: string) => {
    let cl = leaseClients.get(id)
    if (cl === undefined) {
      cl = new LeaseClient(c.etcdEndpoint(id))
      leaseClients.set(id, cl)
    }
    return cl
  }
  afterAll(() => {
    for (const w of watchClients) w.close()
    for (const cl of leaseClients.values()) cl.close()
  })

  const keyCount = async (via: string, prefix: string): Promise<number> => {
    const end = enc(prefix)
    end[end.length - 1]! += 1
    const r = await retry(() => client(via).range({ key: enc(prefix), rangeEnd: end, countOnly: true }))
    return Number(r.count ?? 0n)
  }

  test("no watcher loses an event; no lease expires early", async () => {
    const leader = await c.leaderOf(IDS)
    const followers = IDS.filter((id) => id !== leader)
    const endpoints = IDS.map((id) => c.etcdEndpoint(id))
    for (let s = 0; s < STREAMS; s++)
      watchClients.push(new FailoverWatchClient(endpoints, mixedWatchSpecs(s), s))

    // Kept leases: renewed through both followers' streams; a zero TTL for one is an early expiry.
    const renewer = new LeaseRenewer(
      followers.map((f) => (onResponse) => client(f).keepAlive(onResponse)),
      RENEW_EVERY_MS,
    )
    const started = performance.now()
    await pool(
      Array.from({ length: KEPT }, (_, i) => i),
      128,
      async (i) => {
        const via = IDS[i % IDS.length]!
        const g = await retry(() => client(via).grant(KEPT_TTL_S))
        const id = g.ID ?? 0n
        renewer.keep(id)
        await retry(() => client(via).put({ key: enc(`kept/${i}`), value: enc("v"), lease: id }))
      },
    )
    console.log(
      `watch-lease-processes: ${KEPT} leases granted in ${Math.round(performance.now() - started)} ms`,
    )

    // The writer: puts and deletes under w*, through every node.
    const writer = new MixedWriter((via, path, body) => c.call(via, path, body), IDS)
    await writer.ackedAtLeast(50)

    // Doomed leases, each with a watched key: granted just before the kill, never renewed.
    const grantSentAt: number[] = []
    await pool(
      Array.from({ length: DOOMED }, (_, i) => i),
      DOOMED,
      async (i) => {
        const via = followers[i % followers.length]!
        grantSentAt[i] = performance.now()
        const g = await retry(() => client(via).grant(DOOMED_TTL_S))
        await retry(() => client(via).put({ key: enc(`wl/doomed/${i}`), value: enc("v"), lease: g.ID ?? 0n }))
      },
    )
    for (const w of watchClients) w.requestProgress()
    await c.kill(leader)
    const killedAt = performance.now()
    const next = await c.leaderOf(followers)
    console.log(
      `watch-lease-processes: new leader ${next} after ${Math.round(performance.now() - killedAt)} ms`,
    )

    // Poll the doomed keys: one missing from an answer received before its lease's TTL had
    // passed since its grant was sent expired early. Then they must all go, on every live node.
    const early: string[] = []
    let left = DOOMED
    for (let i = 0; i < 300 && left > 0; i++) {
      const r = await retry(() =>
        client(next).range({ key: enc("wl/doomed/"), rangeEnd: enc("wl/doomed0"), keysOnly: true }),
      )
      const receivedAt = performance.now()
      const present = new Set((r.kvs ?? []).map((kv) => new TextDecoder().decode(kv.key)))
      left = present.size
      for (let k = 0; k < DOOMED; k++)
        if (!present.has(`wl/doomed/${k}`) && receivedAt < grantSentAt[k]! + DOOMED_TTL_S * 1000)
          early.push(`wl/doomed/${k} gone ${Math.round(receivedAt - grantSentAt[k]!)} ms after its grant`)
      if (left > 0) await Bun.sleep(100)
    }
    console.log(
      `watch-lease-processes: unrenewed keys gone ${Math.round(performance.now() - Math.max(...grantSentAt))} ms after the last grant was sent (TTL ${DOOMED_TTL_S} s, failover in between)`,
    )
    expect(early).toEqual([])
    expect(left).toBe(0)
    for (const f of followers) expect(await keyCount(f, "wl/doomed/")).toBe(0)
    await writer.ackedAtLeast(writer.acked + 50)

    c.spawn(leader)
    await c.leaderOf(IDS)
    await writer.ackedAtLeast(writer.acked + 30)
    // Keep renewing until more than one kept TTL has passed since the kill.
    await Bun.sleep(Math.max(0, killedAt + KEPT_TTL_S * 1000 + 1000 - performance.now()))
    for (const w of watchClients) w.requestProgress()
    await writer.stop()
    await renewer.stop()
    expect([...renewer.expiredEarly]).toEqual([])
    for (const id of IDS)
      expect({ node: id, kept: await keyCount(id, "kept/") }).toEqual({ node: id, kept: KEPT })

    // Everything committed is on every member now; take the history from a survivor.
    const survivor = followers[0]!
    let history = await readSettledHistory(join(c.dataDir(survivor), "kv-1.db"))
    const last = history[history.length - 1]!.revision
    for (
      let i = 0;
      i < 100 && readCommittedHistory(join(c.dataDir(leader), "kv-1.db")).at(-1)?.revision !== last;
      i++
    )
      await Bun.sleep(50)
    history = await readSettledHistory(join(c.dataDir(survivor), "kv-1.db"))
    const expiries = history.filter((e) => e.type === "delete" && e.key.startsWith("wl/doomed/"))
    expect(expiries.length).toBe(DOOMED)
    const { events, reconnects } = await expectWatchersComplete(watchClients, history)
    expect(reconnects).toBeGreaterThanOrEqual(2) // the streams on the killed leader moved
    expect(events).toBeGreaterThan(10_000)
    console.log(
      `watch-lease-processes: ${history.length} committed events (${expiries.length} lease deletions in ${new Set(expiries.map((e) => e.revision)).size} revisions), ${events} delivered to ${STREAMS * 50} watchers, ${reconnects} stream reconnects, ${Math.round(performance.now() - started)} ms`,
    )
  }, 300_000)
})
