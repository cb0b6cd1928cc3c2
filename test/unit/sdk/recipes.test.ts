/** Session, lock, leader election and config watch recipes against the reference backend. */
import { afterEach, expect, test } from "bun:test"
import { startEtcdGrpcServer } from "../../../src/adapters/etcd/grpc-server.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import {
  type ConfigSnapshot,
  connect,
  type LatticeClient,
  leaderElection,
  lock,
  session,
  text,
  validateLeaderElection,
  watchConfig,
} from "../../../src/sdk/index.ts"
import { eventually, startMemoryServers } from "./support.ts"

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
const setup = async () => {
  const s = await startMemoryServers(1)
  cleanups.push(() => s.stop())
  const client = (): LatticeClient => {
    const c = connect({
      endpoints: s.endpoints,
      retry: { initialBackoffMs: 5, maxBackoffMs: 50, attemptTimeoutMs: 1000 },
    })
    cleanups.push(() => c.close())
    return c
  }
  return { s, client }
}

test("session: keys on its lease vanish when it closes; a revoked lease is reported lost", async () => {
  const { client } = await setup()
  const c = client()
  const s1 = await session(c, { ttl: 10 })
  await c.put("presence/a", "up", { lease: s1.lease })
  expect((await c.get("presence/a")).kvs.length).toBe(1)
  await s1.close()
  expect((await c.get("presence/a")).kvs).toEqual([])
  expect(s1.signal.aborted).toBe(true)
  const s2 = await session(c, { ttl: 1 })
  await c.revoke(s2.lease)
  expect((await s2.lost).reason).toBe("expired")
  expect(s2.signal.aborted).toBe(true)
  await expect(session(c, { ttl: 0.5 })).rejects.toThrow("session ttl is whole seconds")
})

test("lock: mutual exclusion, waiting in line, increasing fencing tokens, owns() fences writes", async () => {
  const { client } = await setup()
  const [a, b] = [client(), client()]
  const first = await lock(a, "jobs")
  expect(text(first.key)).toMatch(/^jobs\/[0-9a-f]+$/)
  let secondHeld = false
  const secondP = lock(b, "jobs").then((h) => {
    secondHeld = true
    return h
  })
  await Bun.sleep(100)
  expect(secondHeld).toBe(false)
  // The holder's fenced write goes through.
  const ok = await a.txn({
    compare: [first.owns()],
    success: [{ requestPut: { key: new TextEncoder().encode("res"), value: new TextEncoder().encode("a") } }],
  })
  expect(ok.succeeded).toBe(true)
  await first.unlock()
  const second = await secondP
  expect(second.fencingToken).toBeGreaterThan(first.fencingToken)
  // The old holder's fence no longer holds.
  const stale = await a.txn({
    compare: [first.owns()],
    success: [
      { requestPut: { key: new TextEncoder().encode("res"), value: new TextEncoder().encode("late") } },
    ],
  })
  expect(stale.succeeded).toBe(false)
  await second.unlock()
  expect((await a.get("jobs/", { prefix: true })).kvs).toEqual([])
})

test("lock: giving up while waiting removes the waiter's key", async () => {
  const { client } = await setup()
  const [a, b] = [client(), client()]
  const held = await lock(a, "L")
  const abort = new AbortController()
  const waiting = lock(b, "L", { signal: abort.signal }).catch((e) => e)
  await eventually(async () => (await a.get("L/", { prefix: true })).kvs.length === 2)
  abort.abort()
  expect((await waiting).code).toBe(1)
  await eventually(async () => (await a.get("L/", { prefix: true })).kvs.length === 1)
  await held.unlock()
})

test("leader election: validation follows client-go", () => {
  const base = { name: "e", onStartedLeading: () => {}, onStoppedLeading: () => {} }
  expect(() =>
    validateLeaderElection({
      ...base,
      leaseDuration: "10 seconds",
      renewDeadline: "10 seconds",
      retryPeriod: "2 seconds",
    }),
  ).toThrow("leaseDuration must be greater than renewDeadline")
  expect(() =>
    validateLeaderElection({
      ...base,
      leaseDuration: "15 seconds",
      renewDeadline: "10 seconds",
      retryPeriod: "9 seconds",
    }),
  ).toThrow("renewDeadline must be greater than retryPeriod*JitterFactor")
  expect(
    validateLeaderElection({
      ...base,
      leaseDuration: "15 seconds",
      renewDeadline: "10 seconds",
      retryPeriod: "2 seconds",
    }),
  ).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })
})

const elector = (
  c: LatticeClient,
  id: string,
  log: string[],
  timing = { lease: 3000, renew: 1000, retry: 200 },
) =>
  leaderElection(c, {
    name: "cleanup-worker",
    identity: id,
    leaseDuration: timing.lease,
    renewDeadline: timing.renew,
    retryPeriod: timing.retry,
    onStartedLeading: () => void log.push(`${id} started`),
    onStoppedLeading: () => void log.push(`${id} stopped`),
    onNewLeader: (l) => void log.push(`${id} sees ${l}`),
  })

test("leader election: one leader; cancelling it hands over at once; observers see the new leader", async () => {
  const { client } = await setup()
  const log: string[] = []
  const e1 = elector(client(), "one", log)
  const e2 = elector(client(), "two", log)
  const stop1 = new AbortController()
  const stop2 = new AbortController()
  const run1 = e1.run(stop1.signal)
  await eventually(() => e1.isLeader())
  const run2 = e2.run(stop2.signal)
  await eventually(() => log.includes("two sees one"))
  expect(e2.isLeader()).toBe(false)
  stop1.abort()
  await run1
  await eventually(() => e2.isLeader())
  expect(log.indexOf("one stopped")).toBeLessThan(log.indexOf("two started"))
  stop2.abort()
  await run2
  expect(log.filter((l) => l.endsWith("started"))).toEqual(["one started", "two started"])
})

test("leader election: a leader that cannot renew stops leading after renewDeadline", async () => {
  const { client, s } = await setup()
  const log: string[] = []
  const e = elector(client(), "solo", log, { lease: 4000, renew: 600, retry: 100 })
  const stop = new AbortController()
  const run = e.run(stop.signal)
  await eventually(() => e.isLeader())
  // The cluster loses its leader: renewals fail with UNAVAILABLE.
  s.backend.leader = 0n
  const lostAt = performance.now()
  await eventually(() => log.includes("solo stopped"), 5000)
  // Stopped between renewDeadline and leaseDuration after the last good renewal.
  const after = performance.now() - lostAt
  expect(after).toBeLessThan(4000)
  expect(after).toBeGreaterThan(300)
  expect(e.isLeader()).toBe(false)
  await run
  s.backend.leader = s.backend.memberId
})

test("leader election: deleting the leader key ends leadership", async () => {
  const { client } = await setup()
  const log: string[] = []
  const c = client()
  const e = elector(c, "solo", log)
  const run = e.run(new AbortController().signal)
  await eventually(() => e.isLeader())
  await c.delete("cleanup-worker/", { prefix: true })
  await run
  expect(log).toEqual(["solo sees solo", "solo started", "solo stopped"])
})

test("config watch: first read, then every change; re-reads after compaction while away", async () => {
  const backend = (await startMemoryServers(0)).backend
  const server1 = await startEtcdGrpcServer({ service: new EtcdService(backend), address: "127.0.0.1:0" })
  const port = server1.port
  const c = connect({ endpoints: [`127.0.0.1:${port}`], retry: { initialBackoffMs: 20, maxBackoffMs: 100 } })
  cleanups.push(() => c.close())
  await c.put("cfg/mode", "slow")
  const seen: ConfigSnapshot[] = []
  const cw = watchConfig(c, "cfg/", { onChange: (s) => void seen.push(s) })
  cleanups.push(() => cw.close())
  await cw.ready
  expect([...seen[0]!.values]).toEqual([["cfg/mode", "slow"]])
  await c.put("cfg/mode", "fast")
  await c.put("cfg/limit", "10")
  await eventually(() => cw.snapshot().values.get("cfg/limit") === "10")
  expect(cw.snapshot().values.get("cfg/mode")).toBe("fast")
  // The node goes away; meanwhile history is written and compacted; it comes back on the same port.
  server1.forceShutdown()
  await backend.put({ key: new TextEncoder().encode("cfg/mode"), value: new TextEncoder().encode("off") })
  await backend.deleteRange({ key: new TextEncoder().encode("cfg/limit") })
  await backend.compact({ revision: backend.identity().revision })
  const server2 = await startEtcdGrpcServer({
    service: new EtcdService(backend),
    address: `127.0.0.1:${port}`,
  })
  cleanups.push(() => server2.forceShutdown())
  await eventually(() => cw.snapshot().values.get("cfg/mode") === "off", 10_000)
  expect([...cw.snapshot().values]).toEqual([["cfg/mode", "off"]])
  expect(cw.resyncs).toBe(1)
  cw.close()
  await cw.done
})
