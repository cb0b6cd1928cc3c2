/**
 * The SDK against a 3-node Lattice cluster in this process (in-memory transport, real SQLite,
 * real gRPC listeners on free ports): a keyed write retried applies once, and the client rides
 * through stopping the node it talks to and the leader.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import * as grpc from "@grpc/grpc-js"
import { CLIENT_ID_HEADER, REQUEST_ID_HEADER } from "../../../src/adapters/etcd/call-context.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { connect, type LatticeClient, text } from "../../../src/sdk/index.ts"
import { makeTestCluster, type TestCluster } from "../node/cluster-support.ts"

let tc: TestCluster
let client: LatticeClient
const endpoint = (id: string) => `127.0.0.1:${tc.cluster.get(id)!.listeners!.etcdPort}`

beforeAll(async () => {
  tc = makeTestCluster(
    3,
    (o) => o,
    () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
  )
  await tc.cluster.startAll()
  await tc.cluster.awaitLeader()
  client = connect({ endpoints: tc.cluster.ids.map(endpoint), retry: { initialBackoffMs: 10 } })
})
afterAll(async () => {
  client.close()
  await tc.cleanup()
})

test("the same idempotency key applied twice answers the first outcome and writes once", async () => {
  const raw = new grpc.Client(endpoint(tc.cluster.ids[1]!), grpc.credentials.createInsecure())
  const put = (value: string) =>
    new Promise<pb.PutResponse>((resolve, reject) => {
      const md = new grpc.Metadata()
      md.set(CLIENT_ID_HEADER, "retry-test")
      md.set(REQUEST_ID_HEADER, "42")
      raw.makeUnaryRequest(
        pb.KVService.Put.path,
        (x: pb.PutRequest) => Buffer.from(pb.encodePutRequest(x)),
        (b: Buffer) => pb.decodePutResponse(b),
        { key: new TextEncoder().encode("idem"), value: new TextEncoder().encode(value) },
        md,
        (err, res) => (err ? reject(err) : resolve(res!)),
      )
    })
  const first = await put("a")
  const again = await put("b")
  raw.close()
  expect(again.header!.revision).toBe(first.header!.revision!)
  const got = await client.get("idem")
  expect(text(got.kvs[0]!.value)).toBe("a")
  expect(got.kvs[0]!.version).toBe(1n)
})

test("stopping the node the client uses, then the leader: every operation still succeeds", async () => {
  let ok = 0
  const failures: unknown[] = []
  let running = true
  const load = (async () => {
    for (let i = 0; running; i++) {
      try {
        await client.put(`load/${i % 20}`, String(i))
        await client.get(`load/${i % 20}`)
        ok++
      } catch (e) {
        failures.push(e)
      }
    }
  })()
  // Progress: a few more operations complete (the cluster is slow on a busy machine).
  const progress = async () => {
    const target = ok + 3
    const until = performance.now() + 20_000
    while (ok < target && performance.now() < until) await Bun.sleep(20)
    expect(ok).toBeGreaterThanOrEqual(target)
  }
  await progress()
  const first = client.endpoints.current().address
  const victim = tc.cluster.ids.find((id) => endpoint(id) === first)!
  await tc.cluster.stop(victim)
  await progress()
  const leader = await tc.cluster.awaitLeader()
  await tc.cluster.stop(leader)
  // One node left: no quorum, operations wait in retries. Bring the first one back (on a new
  // port the client does not know) to restore quorum behind the remaining endpoint.
  await Bun.sleep(300)
  await tc.cluster.start(victim)
  await progress()
  running = false
  await load
  expect(failures).toEqual([])
}, 60_000)
