/**
 * Elections and locks against a 3-node Lattice cluster in this process (in-memory transport,
 * real SQLite, real gRPC listeners on free ports): the real etcdctl `lock` and `elect` (etcd's
 * client-side recipes over KV, leases and watches), and the SDK recipes over Lattice's Lock and
 * Election services, with calls spread over different nodes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { connect, type LatticeClient, leaderElection, lock, session, text } from "../../../src/sdk/index.ts"
import { electionHandOver, lockHandOver } from "../etcdctl/elect-lock-scenarios.ts"
import { makeTestCluster, type TestCluster } from "./cluster-support.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl")

let tc: TestCluster
const endpoint = (id: string) => `127.0.0.1:${tc.cluster.get(id)!.listeners!.etcdPort}`
const clients: LatticeClient[] = []
const clientOn = (id: string) => {
  const c = connect({ endpoints: [endpoint(id)], retry: { initialBackoffMs: 10 } })
  clients.push(c)
  return c
}

beforeAll(async () => {
  tc = makeTestCluster(
    3,
    (o) => o,
    () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
  )
  await tc.cluster.startAll()
  await tc.cluster.awaitLeader()
})
afterAll(async () => {
  for (const c of clients) c.close()
  await tc.cleanup()
})

describe.skipIf(!hasEtcdctl)("etcdctl on a 3-node cluster", () => {
  test("lock: hand-over between lockers on different nodes", async () => {
    const [a, b] = tc.cluster.ids as [string, string]
    await lockHandOver({ a: endpoint(a), b: endpoint(b) }, "etcdctl-lock")
  }, 60_000)

  test("elect: leader, waiting candidate and observer on different nodes", async () => {
    const [a, , c] = tc.cluster.ids as [string, string, string]
    await electionHandOver({ a: endpoint(a), b: endpoint(c) }, "etcdctl-elect")
  }, 60_000)
})

test("Lock service: lockers on different nodes take turns with increasing fencing tokens", async () => {
  const [n1, n2, n3] = tc.cluster.ids as [string, string, string]
  const [a, b, c] = [clientOn(n1), clientOn(n2), clientOn(n3)]
  const tokens: bigint[] = []
  let inside = 0
  let maxInside = 0
  await Promise.all(
    [a, b, c, a, b, c].map(async (cl, i) => {
      const h = await lock(cl, "svc-lock", { ttl: 10 })
      inside++
      maxInside = Math.max(maxInside, inside)
      tokens.push(h.fencingToken)
      const w = await cl.txn({
        compare: [h.owns()],
        success: [
          {
            requestPut: {
              key: new TextEncoder().encode("svc-res"),
              value: new TextEncoder().encode(String(i)),
            },
          },
        ],
      })
      expect(w.succeeded).toBe(true)
      await Bun.sleep(20)
      inside--
      await h.unlock()
    }),
  )
  expect(maxInside).toBe(1)
  expect(tokens).toEqual([...tokens].sort((x, y) => (x < y ? -1 : 1)))
  expect(new Set(tokens).size).toBe(6)
}, 60_000)

test("a holder whose lease expires loses the lock to the waiter; its fence fails", async () => {
  const [n1, n2] = tc.cluster.ids as [string, string]
  const [a, b] = [clientOn(n1), clientOn(n2)]
  // A session that is never renewed: as if the holder froze.
  const frozen = await session(a, { ttl: 1 })
  frozen.keepAlive.close()
  const first = await lock(a, "expiring", { session: frozen })
  const second = await lock(b, "expiring", { ttl: 10 })
  expect(second.fencingToken).toBeGreaterThan(first.fencingToken)
  const late = await a.txn({
    compare: [first.owns()],
    success: [
      { requestPut: { key: new TextEncoder().encode("x"), value: new TextEncoder().encode("late") } },
    ],
  })
  expect(late.succeeded).toBe(false)
  await second.unlock()
}, 30_000)

test("leader election over the Election service: hand-over between nodes", async () => {
  const [n1, n2] = tc.cluster.ids as [string, string]
  const log: string[] = []
  const make = (c: LatticeClient, id: string) =>
    leaderElection(c, {
      name: "svc-elect",
      identity: id,
      leaseDuration: "3 seconds",
      renewDeadline: "2 seconds",
      retryPeriod: "500 millis",
      onStartedLeading: () => void log.push(`${id} started`),
      onStoppedLeading: () => void log.push(`${id} stopped`),
      onNewLeader: (l) => void log.push(`${id} sees ${l}`),
    })
  const e1 = make(clientOn(n1), "one")
  const e2 = make(clientOn(n2), "two")
  const s1 = new AbortController()
  const s2 = new AbortController()
  const r1 = e1.run(s1.signal)
  for (let i = 0; i < 200 && !e1.isLeader(); i++) await Bun.sleep(20)
  const r2 = e2.run(s2.signal)
  for (let i = 0; i < 200 && !log.includes("two sees one"); i++) await Bun.sleep(20)
  expect(e2.isLeader()).toBe(false)
  const leader = await clientOn(n2).leader("svc-elect")
  expect(text(leader.kv!.value)).toBe("one")
  s1.abort()
  await r1
  for (let i = 0; i < 200 && !e2.isLeader(); i++) await Bun.sleep(20)
  expect(e2.isLeader()).toBe(true)
  s2.abort()
  await r2
  expect(log.filter((l) => l.endsWith("started") || l.endsWith("stopped"))).toEqual([
    "one started",
    "one stopped",
    "two started",
    "two stopped",
  ])
}, 60_000)
