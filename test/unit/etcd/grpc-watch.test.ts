/** The Watch service over gRPC with a plain grpc-js client: created, events, cancel, hang-up. */
import { afterAll, beforeAll, expect, test } from "bun:test"
import * as grpc from "@grpc/grpc-js"
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../../src/adapters/etcd/grpc-server.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { MemoryEtcdBackend } from "./support/memory-backend.ts"

const te = new TextEncoder()
let backend: MemoryEtcdBackend
let server: EtcdGrpcServer
let client: grpc.Client

beforeAll(async () => {
  backend = new MemoryEtcdBackend()
  server = await startEtcdGrpcServer({ service: new EtcdService(backend), address: "127.0.0.1:0" })
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure())
})
afterAll(() => {
  client.close()
  server.forceShutdown()
})

test("a watch stream: created, live events in order, cancel, and hang-up releases watchers", async () => {
  const call = client.makeBidiStreamRequest(
    pb.WatchService.Watch.path,
    (m: pb.WatchRequest) => Buffer.from(pb.encodeWatchRequest(m)),
    (b: Buffer) => pb.decodeWatchResponse(b),
  )
  const received: pb.WatchResponse[] = []
  const waiters: (() => void)[] = []
  call.on("data", (r: pb.WatchResponse) => {
    received.push(r)
    for (const wake of waiters.splice(0)) wake()
  })
  // Our own cancel() at the end surfaces as a CANCELLED error on the client side.
  call.on("error", () => {})
  const nth = async (n: number) => {
    while (received.length < n) await new Promise<void>((r) => waiters.push(r))
    return received[n - 1]!
  }

  call.write({ createRequest: { key: te.encode("a"), rangeEnd: te.encode("b") } })
  call.write({ createRequest: { key: te.encode("a1"), watchId: 9n } })
  expect(await nth(1)).toMatchObject({ watchId: 0n, created: true })
  expect(await nth(2)).toMatchObject({ watchId: 9n, created: true })
  await backend.put({ key: te.encode("a1"), value: te.encode("x") })
  await backend.put({ key: te.encode("zz"), value: te.encode("y") })
  await backend.deleteRange({ key: te.encode("a1") })
  const events = [await nth(3), await nth(4), await nth(5), await nth(6)].map((r) => [
    r.watchId,
    r.header!.revision,
    r.events!.map((e) => e.type ?? 0),
  ])
  // Per revision, each watcher gets its event; "zz" matches neither.
  expect(events.sort()).toEqual(
    [
      [0n, 2n, [0]],
      [9n, 2n, [0]],
      [0n, 4n, [1]],
      [9n, 4n, [1]],
    ].sort(),
  )
  call.write({ cancelRequest: { watchId: 9n } })
  expect(await nth(7)).toMatchObject({ watchId: 9n, canceled: true })
  expect(backend.watcherCount).toBe(1)
  call.cancel()
  for (let i = 0; i < 200 && backend.watcherCount > 0; i++) await Bun.sleep(5)
  expect(backend.watcherCount).toBe(0)
})
