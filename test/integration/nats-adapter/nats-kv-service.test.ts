/**
 * The NATS KV service against a real nats-server and a real 3-node in-process Lattice cluster:
 * one service per node in the cluster's queue group, asked by a plain NATS client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, Exit, Scope } from "effect"
import type { NatsOp } from "../../../schemas/nats-api.ts"
import { startNatsKvService } from "../../../src/adapters/nats/service.ts"
import { kvSubject } from "../../../src/adapters/nats/subjects.ts"
import { NodeEtcdBackend } from "../../../src/node/etcd-backend.ts"
import { type NatsServer, startNatsServer } from "../../support/nats-server.ts"
import { makeTestCluster, type TestCluster } from "../node/cluster-support.ts"

const CLUSTER = "natskv"
const b64 = (s: string) => Buffer.from(s).toString("base64")

let nats: NatsServer
let tc: TestCluster
let client: NatsConnection
const scopes = new Map<string, Scope.CloseableScope>()

const startService = async (id: string): Promise<void> => {
  const running = tc.cluster.get(id)
  if (running === undefined) throw new Error(`${id} is not running`)
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(
    Scope.extend(
      startNatsKvService({
        cluster: CLUSTER,
        backend: new NodeEtcdBackend(running.node),
        servers: [nats.url],
      }),
      scope,
    ),
  )
  scopes.set(id, scope)
}

const stopService = async (id: string): Promise<void> => {
  const scope = scopes.get(id)
  scopes.delete(id)
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
}

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field
const ask = async (op: NatsOp, req: unknown): Promise<any> => {
  const msg = await client.request(
    kvSubject(CLUSTER, op),
    typeof req === "string" ? req : JSON.stringify(req),
    {
      timeout: 10_000,
    },
  )
  return JSON.parse(msg.string())
}

beforeAll(async () => {
  nats = await startNatsServer()
  tc = makeTestCluster(3, (o) => ({ ...o, clusterName: CLUSTER, requestTimeoutMs: 1000 }))
  await tc.cluster.startAll()
  await tc.cluster.awaitLeader()
  for (const id of tc.cluster.ids) await startService(id)
  client = await connect({ servers: [nats.url] })
})

afterAll(async () => {
  await client?.close()
  for (const id of [...scopes.keys()]) await stopService(id)
  await tc?.cleanup()
  await nats?.stop()
})

describe("NATS KV service over a 3-node cluster", () => {
  test("put with prev_kv, then linearizable and serializable range", async () => {
    const first = await ask("put", { key: b64("foo"), value: b64("bar") })
    expect(first.error).toBeUndefined()
    const rev1 = BigInt(first.header.revision)
    const second = await ask("put", { key: b64("foo"), value: b64("baz"), prev_kv: true })
    expect(BigInt(second.header.revision)).toBe(rev1 + 1n)
    expect(second.prev_kv).toMatchObject({ key: b64("foo"), value: b64("bar"), version: "1" })

    const range = await ask("range", { key: b64("foo") })
    expect(range.count).toBe("1")
    expect(range.kvs[0]).toMatchObject({ value: b64("baz"), version: "2", mod_revision: String(rev1 + 1n) })
    expect(range.header.revision).toBe(String(rev1 + 1n))
    // A read of an older revision, and a local one.
    const old = await ask("range", { key: b64("foo"), revision: Number(rev1) })
    expect(old.kvs[0].value).toBe(b64("bar"))
    const local = await ask("range", { key: b64("foo"), serializable: true })
    expect(local.error).toBeUndefined()
  })

  test("txn: compare on mod revision picks the branch, nested responses come back", async () => {
    const put = await ask("put", { key: b64("t"), value: b64("1") })
    const rev = put.header.revision
    const ok = await ask("txn", {
      compare: [{ key: b64("t"), target: "MOD", result: "EQUAL", mod_revision: rev }],
      success: [{ request_put: { key: b64("t"), value: b64("2") } }, { request_range: { key: b64("t") } }],
      failure: [{ request_range: { key: b64("t") } }],
    })
    expect(ok.succeeded).toBe(true)
    expect(ok.responses).toHaveLength(2)
    expect(ok.responses[1].response_range.kvs[0].value).toBe(b64("2"))
    const stale = await ask("txn", {
      compare: [{ key: b64("t"), target: "MOD", result: "EQUAL", mod_revision: rev }],
      success: [{ request_put: { key: b64("t"), value: b64("3") } }],
      failure: [{ request_range: { key: b64("t") } }],
    })
    expect(stale.succeeded).toBe(false)
    expect(stale.responses[0].response_range.kvs[0].value).toBe(b64("2"))
  })

  test("delete_range with prev_kv over a prefix", async () => {
    for (const k of ["p/a", "p/b", "p/c"]) await ask("put", { key: b64(k), value: b64(k) })
    const del = await ask("delete_range", { key: b64("p/"), range_end: b64("p0"), prev_kv: true })
    expect(del.deleted).toBe("3")
    expect(del.prev_kvs.map((kv: { key: string }) => kv.key)).toEqual([b64("p/a"), b64("p/b"), b64("p/c")])
    expect((await ask("range", { key: b64("p/"), range_end: b64("p0") })).count).toBe("0")
  })

  test("compact, then reading below it is OUT_OF_RANGE with etcd's message", async () => {
    const a = await ask("put", { key: b64("c"), value: b64("1") })
    const b = await ask("put", { key: b64("c"), value: b64("2") })
    const compacted = await ask("compact", { revision: b.header.revision })
    expect(compacted.error).toBeUndefined()
    expect(await ask("range", { key: b64("c"), revision: a.header.revision })).toEqual({
      error: { code: "OUT_OF_RANGE", message: "etcdserver: mvcc: required revision has been compacted" },
    })
    expect(await ask("compact", { revision: a.header.revision })).toMatchObject({
      error: { code: "OUT_OF_RANGE" },
    })
  })

  test("bad input: a precise INVALID_ARGUMENT, and the service keeps answering", async () => {
    expect(await ask("put", { key: b64("k"), value: 42 })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "value: Expected string, actual 42" },
    })
    expect(await ask("range", "{")).toMatchObject({ error: { code: "INVALID_ARGUMENT" } })
    expect(await ask("put", { key: "" })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "etcdserver: key is not provided" },
    })
    expect((await ask("range", { key: b64("foo") })).count).toBe("1")
  })

  test("status: three members and the leader", async () => {
    const s = await ask("status", {})
    expect(s.members).toHaveLength(3)
    const ids = s.members.map((m: { id: string }) => m.id)
    expect(ids).toContain(s.leader)
    expect(BigInt(s.header.revision)).toBeGreaterThan(1n)
  })

  test("with two services gone the third answers; with quorum gone it fails closed UNAVAILABLE", async () => {
    const [a, b, c] = tc.cluster.ids as [string, string, string]
    await stopService(a)
    await stopService(b)
    expect((await ask("range", { key: b64("foo") })).count).toBe("1")
    await tc.cluster.stop(a)
    await tc.cluster.stop(b)
    const lin = await ask("range", { key: b64("foo") })
    expect(lin.error?.code).toBe("UNAVAILABLE")
    const write = await ask("put", { key: b64("x"), value: b64("y") })
    expect(write.error?.code).toBe("UNAVAILABLE")
    const local = await ask("range", { key: b64("foo"), serializable: true })
    expect(local.count).toBe("1")
    expect(scopes.has(c)).toBe(true)
  })
})
