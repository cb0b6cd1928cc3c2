/** The SDK client against Lattice's gRPC server over the in-memory reference backend. */
import { afterEach, expect, test } from "bun:test"
import * as grpc from "@grpc/grpc-js"
import { CLIENT_ID_HEADER, REQUEST_ID_HEADER } from "../../../src/adapters/etcd/call-context.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { connect, GrpcCode, type LatticeClient, text, WatchCompactedError } from "../../../src/sdk/index.ts"
import { deadEndpoint, eventually, startMemoryServers } from "./support.ts"

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})
const setup = async (n = 1, extraEndpoints: string[] = []) => {
  const s = await startMemoryServers(n)
  const client = connect({
    endpoints: [...extraEndpoints, ...s.endpoints],
    retry: { initialBackoffMs: 5, maxBackoffMs: 50, attemptTimeoutMs: 2000 },
  })
  cleanups.push(
    () => s.stop(),
    () => client.close(),
  )
  return { s, client }
}

test("put, get (single, prefix, at a revision), delete, txn", async () => {
  const { client } = await setup()
  const r1 = await client.put("cfg/a", "1")
  await client.put("cfg/b", "2")
  await client.put("other", "x")
  const one = await client.get("cfg/a")
  expect(one.kvs.map((kv) => text(kv.value))).toEqual(["1"])
  const all = await client.get("cfg/", { prefix: true })
  expect(all.kvs.map((kv) => text(kv.key))).toEqual(["cfg/a", "cfg/b"])
  await client.put("cfg/a", "changed")
  expect(text((await client.get("cfg/a", { revision: r1.revision })).kvs[0]!.value)).toBe("1")
  const del = await client.delete("cfg/", { prefix: true, prevKv: true })
  expect(del.deleted).toBe(2n)
  expect(del.prevKvs.map((kv) => text(kv.value)).sort()).toEqual(["2", "changed"])
  const t = await client.txn({
    compare: [
      { key: new TextEncoder().encode("other"), target: pb.Compare_CompareTarget.VERSION, version: 1n },
    ],
    success: [
      { requestPut: { key: new TextEncoder().encode("other"), value: new TextEncoder().encode("y") } },
    ],
  })
  expect(t.succeeded).toBe(true)
  expect(text((await client.get("other")).kvs[0]!.value)).toBe("y")
})

test("a bad request fails at once with the server's code and message (no retries)", async () => {
  const { client } = await setup()
  const err = await client.put("", "v").catch((e) => e)
  expect(err.code).toBe(GrpcCode.INVALID_ARGUMENT)
  expect(err.message).toBe("etcdserver: key is not provided")
})

test("a dead first endpoint costs one failed attempt: the client fails over and stays there", async () => {
  const dead = await deadEndpoint()
  const { client, s } = await setup(1, [dead])
  expect((await client.put("k", "v")).revision).toBeGreaterThan(1n)
  expect(client.endpoints.current().address).toBe(s.endpoints[0]!)
  expect(text((await client.get("k")).kvs[0]!.value)).toBe("v")
})

test("reads and keyed writes are retried through an UNAVAILABLE (no leader) spell", async () => {
  const { client, s } = await setup()
  s.backend.leader = 0n
  setTimeout(() => (s.backend.leader = s.backend.memberId), 150)
  const put = client.put("k", "v")
  const get = client.get("k")
  expect((await put).revision).toBeGreaterThan(1n)
  expect((await get).revision).toBeGreaterThan(0n)
})

test("with retryWrites off, a write fails on UNAVAILABLE instead of being repeated", async () => {
  const s = await startMemoryServers(1)
  const client = connect({ endpoints: s.endpoints, retryWrites: false, retry: { initialBackoffMs: 5 } })
  cleanups.push(
    () => s.stop(),
    () => client.close(),
  )
  s.backend.leader = 0n
  const err = await client.put("k", "v").catch((e) => e)
  expect(err.code).toBe(GrpcCode.UNAVAILABLE)
  expect(err.message).toBe("etcdserver: no leader")
})

test("every attempt failing ends with UNAVAILABLE naming the endpoints and the last error", async () => {
  const dead = await deadEndpoint()
  const client = connect({
    endpoints: [dead],
    retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 },
  })
  cleanups.push(() => client.close())
  const err = await client.get("k").catch((e) => e)
  expect(err.code).toBe(GrpcCode.UNAVAILABLE)
  expect(err.message).toContain(`Range failed on every attempt (${dead})`)
})

test("bad endpoints and retry settings are refused with what to write instead", () => {
  expect(() => connect({ endpoints: [] })).toThrow("give at least one endpoint")
  expect(() => connect({ endpoints: ["localhost"] })).toThrow('endpoint "localhost" is not host:port')
  expect(() => connect({ endpoints: ["a:1"], retry: { maxAttempts: 0 } })).toThrow("retry.maxAttempts")
})

test("idempotency headers must come in pairs and be well formed", async () => {
  const { s } = await setup()
  const raw = new grpc.Client(s.endpoints[0]!, grpc.credentials.createInsecure())
  cleanups.push(() => raw.close())
  const put = (md: Record<string, string>) =>
    new Promise<unknown>((resolve) => {
      const m = new grpc.Metadata()
      for (const [k, v] of Object.entries(md)) m.set(k, v)
      raw.makeUnaryRequest(
        pb.KVService.Put.path,
        (x: pb.PutRequest) => Buffer.from(pb.encodePutRequest(x)),
        (b: Buffer) => pb.decodePutResponse(b),
        { key: new TextEncoder().encode("k") },
        m,
        (err) => resolve(err),
      )
    })
  expect(await put({ [CLIENT_ID_HEADER]: "c" })).toMatchObject({ code: GrpcCode.INVALID_ARGUMENT })
  expect(await put({ [CLIENT_ID_HEADER]: "c", [REQUEST_ID_HEADER]: "x1" })).toMatchObject({
    details: 'lattice: lattice-request-id must be a decimal integer below 2^53, got "x1"',
  })
  expect(await put({ [CLIENT_ID_HEADER]: "c", [REQUEST_ID_HEADER]: "7" })).toBeNull()
})

test("leases: grant with a client-chosen id, time to live with keys, list, revoke deletes keys", async () => {
  const { client } = await setup()
  const lease = await client.grant(30)
  expect(lease.id).toBeGreaterThan(0n)
  expect(lease.ttl).toBe(30n)
  await client.put("eph", "1", { lease: lease.id })
  const ttl = await client.timeToLive(lease.id, { keys: true })
  expect(ttl.grantedTTL).toBe(30n)
  expect(ttl.keys.map(text)).toEqual(["eph"])
  expect(await client.leases()).toContain(lease.id)
  await client.revoke(lease.id)
  expect((await client.get("eph")).kvs).toEqual([])
  expect((await client.timeToLive(lease.id)).ttl).toBe(-1n)
  await expect(client.grant(0)).rejects.toThrow("lease TTL must be at least 1 second")
})

test("keepAlive renews over a stream and reports a revoked lease as lost", async () => {
  const { client } = await setup()
  const lease = await client.grant(1)
  const ka = client.keepAlive(lease.id, lease.ttl)
  cleanups.push(() => ka.close())
  await Bun.sleep(450)
  expect(ka.alive).toBe(true)
  const before = ka.lastRenewed
  await Bun.sleep(400)
  expect(ka.lastRenewed).toBeGreaterThan(before)
  await client.revoke(lease.id)
  const lost = await ka.lost
  expect(lost.reason).toBe("expired")
  expect(ka.alive).toBe(false)
})

const collect = async (client: LatticeClient, key: string, n: number, start?: bigint) => {
  const w = client.watch(key, { prefix: true, startRevision: start })
  const seen: string[] = []
  const done = (async () => {
    for await (const b of w) {
      for (const e of b.events) seen.push(`${e.kv!.modRevision}:${text(e.kv!.key)}=${text(e.kv!.value)}`)
      if (seen.length >= n) break
    }
  })()
  return { w, seen, done }
}

test("watch: live events in order, historical replay from a start revision", async () => {
  const { client } = await setup()
  const first = await client.put("w/a", "1")
  const live = await collect(client, "w/", 2)
  await live.w.ready
  await client.put("w/b", "2")
  await client.put("x", "no")
  await client.put("w/a", "3")
  await live.done
  expect(live.seen).toEqual([`${first.revision + 1n}:w/b=2`, `${first.revision + 3n}:w/a=3`])
  const replay = await collect(client, "w/", 3, first.revision)
  await replay.done
  expect(replay.seen).toEqual([`${first.revision}:w/a=1`, ...live.seen])
  live.w.close()
  replay.w.close()
})

test("watch resumes on another endpoint from the last revision + 1, losing and repeating nothing", async () => {
  const { client, s } = await setup(2)
  const w = client.watch("r/", { prefix: true })
  cleanups.push(() => w.close())
  await w.ready
  const seen: bigint[] = []
  const consumer = (async () => {
    for await (const b of w) for (const e of b.events) seen.push(e.kv!.modRevision!)
  })()
  const revs: bigint[] = []
  for (let i = 0; i < 5; i++)
    revs.push((await s.backend.put({ key: new TextEncoder().encode(`r/${i}`) })).header!.revision!)
  await eventually(() => seen.length === 5)
  // Kill the server the watch is on; writes continue through the backend meanwhile.
  const on = client.endpoints.current().address
  s.servers[s.endpoints.indexOf(on)]!.forceShutdown()
  for (let i = 5; i < 10; i++)
    revs.push((await s.backend.put({ key: new TextEncoder().encode(`r/${i}`) })).header!.revision!)
  await eventually(() => seen.length === 10)
  expect(seen).toEqual(revs)
  expect(w.reconnects).toBeGreaterThanOrEqual(1)
  w.close()
  await consumer
})

test("watch from a compacted revision ends with WatchCompactedError", async () => {
  const { client } = await setup()
  await client.put("c", "1")
  const r = await client.put("c", "2")
  await client.compact(r.revision)
  const w = client.watch("c", { startRevision: 1n })
  const err = await (async () => {
    for await (const _ of w) {
    }
  })().catch((e) => e)
  expect(err).toBeInstanceOf(WatchCompactedError)
  expect(err.compactRevision).toBe(r.revision)
})
