/**
 * Leases across a leader SIGKILL, with real `lattice start` processes over a real nats-server:
 * 1,000 leases (one key each) are kept alive through the two followers' gRPC keep-alive streams
 * (forwarded to the leader, batched into one renewal entry per round) while the leader's process
 * is killed. None of them may expire: every keep-alive answer keeps a positive TTL and every key
 * survives. 100 other leases, granted just before the kill and never renewed, must not expire
 * before their TTL, and must then expire and delete their keys on every node.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { LeaseClient } from "../../support/lease-client.ts"
import { LeaseRenewer, pool, retry } from "../../support/process-test-helpers.ts"
import { hasNats, processCluster } from "./process-cluster.ts"

const KEPT = 1000
const DOOMED = 100
const KEPT_TTL_S = 30
const DOOMED_TTL_S = 15

const enc = (s: string) => new TextEncoder().encode(s)

describe.skipIf(!hasNats)("leases across a leader SIGKILL (3 lattice processes)", () => {
  const IDS = ["n1", "n2", "n3"]
  const c = processCluster(IDS, [])
  const clients = new Map<string, LeaseClient>()
  const client = (id: string) => {
    let cl = clients.get(id)
    if (cl === undefined) {
      cl = new LeaseClient(c.etcdEndpoint(id))
      clients.set(id, cl)
    }
    return cl
  }
  afterAll(() => {
    for (const cl of clients.values()) cl.close()
  })

  const keyCount = async (via: string, prefix: string): Promise<number> => {
    const end = enc(prefix)
    end[end.length - 1]! += 1
    const r = await retry(() => client(via).range({ key: enc(prefix), rangeEnd: end, countOnly: true }))
    return Number(r.count ?? 0n)
  }

  test("1,000 kept-alive leases survive the kill; unrenewed ones expire on time and delete their keys", async () => {
    const leader = await c.leaderOf(IDS)
    const followers = IDS.filter((id) => id !== leader)

    // Renewals go through both followers' streams; a zero TTL for a kept lease is an early expiry.
    // etcd's clientv3 renews every TTL/3; every 3 s with a 30 s TTL leaves a wide margin.
    const renewer = new LeaseRenewer(
      followers.map((f) => (onResponse) => client(f).keepAlive(onResponse)),
      3000,
    )

    const started = performance.now()
    await pool(
      Array.from({ length: KEPT }, (_, i) => i),
      32,
      async (i) => {
        const via = IDS[i % IDS.length]!
        const g = await retry(() => client(via).grant(KEPT_TTL_S))
        const id = g.ID ?? 0n
        renewer.keep(id)
        await retry(() => client(via).put({ key: enc(`kept/${i}`), value: enc("v"), lease: id }))
      },
    )
    console.log(
      `lease-processes: ${KEPT} leases granted with a key each in ${Math.round(performance.now() - started)} ms`,
    )
    expect(await keyCount(followers[0]!, "kept/")).toBe(KEPT)

    // Doomed leases: granted just before the kill, never renewed.
    const doomedAt = performance.now()
    await pool(
      Array.from({ length: DOOMED }, (_, i) => i),
      32,
      async (i) => {
        const via = followers[i % followers.length]!
        const g = await retry(() => client(via).grant(DOOMED_TTL_S))
        await retry(() => client(via).put({ key: enc(`doomed/${i}`), value: enc("v"), lease: g.ID ?? 0n }))
      },
    )
    const doomedGranted = performance.now()

    await c.kill(leader)
    const next = await c.leaderOf(followers)
    expect(next).not.toBe(leader)

    // Before their TTL (counted from the last grant's answer), no doomed key is gone.
    const beforeTtl = doomedAt + DOOMED_TTL_S * 1000 - 500
    if (performance.now() < beforeTtl) {
      expect(await keyCount(next, "doomed/")).toBe(DOOMED)
      await Bun.sleep(Math.max(0, beforeTtl - performance.now()))
    }
    // Then they expire and their keys go, on every live node.
    let left = DOOMED
    for (let i = 0; i < 400 && left > 0; i++) {
      left = await keyCount(next, "doomed/")
      if (left > 0) await Bun.sleep(100)
    }
    console.log(
      `lease-processes: doomed keys gone ${Math.round(performance.now() - doomedGranted)} ms after their grants (TTL ${DOOMED_TTL_S} s)`,
    )
    expect(left).toBe(0)
    for (const f of followers) expect(await keyCount(f, "doomed/")).toBe(0)

    // Keep renewing well past one TTL after the failover: nothing kept may have expired.
    await Bun.sleep(KEPT_TTL_S * 1000 + 2000)
    c.spawn(leader)
    await c.leaderOf(IDS)
    await renewer.stop()
    expect([...renewer.expiredEarly]).toEqual([])
    for (const id of IDS)
      expect({ node: id, kept: await keyCount(id, "kept/") }).toEqual({ node: id, kept: KEPT })
    const sample = await retry(() => client(next).timeToLive(renewer.kept[0]!))
    expect(sample.TTL ?? 0n).toBeGreaterThan(0n)
  }, 600_000)
})
