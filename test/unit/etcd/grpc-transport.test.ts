/**
 * The gRPC server's own HTTP/2 (src/adapters/etcd/h2) against a plain grpc-js client: many calls
 * on one connection, responses larger than the client's flow-control windows, deadlines,
 * oversized messages, and both kinds of shutdown.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as http2 from "node:http2"
import * as grpc from "@grpc/grpc-js"
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../../src/adapters/etcd/grpc-server.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { MemoryEtcdBackend } from "./support/memory-backend.ts"

const te = new TextEncoder()

type Outcome = { ok: Buffer } | { code: number; details: string }

const unary = (client: grpc.Client, path: string, body: Uint8Array, deadlineMs?: number) =>
  new Promise<Outcome>((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      body,
      new grpc.Metadata(),
      deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
      (err, res) => resolve(err ? { code: err.code, details: err.details } : { ok: res! }),
    ),
  )

const okOf = (o: Outcome): Buffer => {
  if ("ok" in o) return o.ok
  throw new Error(`${o.code}: ${o.details}`)
}

/** Takes lock `name` with one new lease; returns a second lease, for a Lock call that must wait. */
const holdLock = async (client: grpc.Client, name: string): Promise<bigint> => {
  const grant = async () =>
    pb.decodeLeaseGrantResponse(
      okOf(await unary(client, pb.LeaseService.LeaseGrant.path, pb.encodeLeaseGrantRequest({ TTL: 60n }))),
    ).ID!
  const [holder, waiter] = [await grant(), await grant()]
  okOf(
    await unary(
      client,
      pb.LockService.Lock.path,
      pb.encodeLockRequest({ name: te.encode(name), lease: holder }),
    ),
  )
  return waiter
}

describe("etcd gRPC server transport", () => {
  let server: EtcdGrpcServer
  let client: grpc.Client
  const address = () => `127.0.0.1:${server.port}`

  beforeAll(async () => {
    server = await startEtcdGrpcServer({
      service: new EtcdService(new MemoryEtcdBackend()),
      address: "127.0.0.1:0",
    })
    client = new grpc.Client(address(), grpc.credentials.createInsecure())
  })
  afterAll(() => {
    client.close()
    server.forceShutdown()
  })

  test("500 concurrent puts on one connection all succeed, each with its own response", async () => {
    const puts = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        unary(
          client,
          pb.KVService.Put.path,
          pb.encodePutRequest({ key: te.encode(`c/${i}`), value: te.encode(`${i}`) }),
        ),
      ),
    )
    const revisions = puts.map((p) => pb.decodePutResponse(okOf(p)).header!.revision)
    expect(new Set(revisions).size).toBe(500)
    expect(server.connections()).toBe(1)
  })

  test("a 4 MB range response crosses the client's flow-control windows intact", async () => {
    const value = Uint8Array.from({ length: 100_000 }, (_, i) => i % 253)
    for (let i = 0; i < 40; i++) {
      okOf(
        await unary(
          client,
          pb.KVService.Put.path,
          pb.encodePutRequest({ key: te.encode(`big/${i}`), value }),
        ),
      )
    }
    const res = pb.decodeRangeResponse(
      okOf(
        await unary(
          client,
          pb.KVService.Range.path,
          pb.encodeRangeRequest({ key: te.encode("big/"), rangeEnd: te.encode("big0") }),
        ),
      ),
    )
    expect(res.kvs).toHaveLength(40)
    expect(res.kvs!.every((kv) => Buffer.from(kv.value!).equals(Buffer.from(value)))).toBe(true)
  })

  test("a request above the receive limit is RESOURCE_EXHAUSTED; the connection stays usable", async () => {
    const huge = pb.encodePutRequest({ key: te.encode("k"), value: new Uint8Array(3 * 1024 * 1024) })
    const r = await unary(client, pb.KVService.Put.path, huge)
    expect(r).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED })
    expect((r as { details: string }).details).toStartWith("grpc: received message larger than max")
    okOf(await unary(client, pb.KVService.Range.path, pb.encodeRangeRequest({ key: te.encode("k") })))
  })

  test("a call past its grpc-timeout ends with DEADLINE_EXCEEDED from the server", async () => {
    const waiter = await holdLock(client, "t")
    // A raw HTTP/2 request, so no client-side deadline can end it: only the server's can.
    const session = http2.connect(`http://${address()}`)
    const stream = session.request({
      ":method": "POST",
      ":path": pb.LockService.Lock.path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": "300m",
    })
    const body = pb.encodeLockRequest({ name: te.encode("t"), lease: waiter })
    const framed = Buffer.alloc(5 + body.length)
    framed.writeUInt32BE(body.length, 1)
    framed.set(body, 5)
    stream.end(framed)
    const started = performance.now()
    const status = await new Promise<string>((resolve) => {
      stream.on("response", (h) => {
        if (h["grpc-status"] !== undefined) resolve(String(h["grpc-status"]))
      })
      stream.on("trailers", (h) => resolve(String(h["grpc-status"])))
      stream.resume()
    })
    session.close()
    expect(Number(status)).toBe(grpc.status.DEADLINE_EXCEEDED)
    expect(performance.now() - started).toBeGreaterThanOrEqual(250)
  })

  test("unknown methods are UNIMPLEMENTED", async () => {
    const r = await unary(client, "/etcdserverpb.KV/Nope", new Uint8Array())
    expect(r).toMatchObject({ code: grpc.status.UNIMPLEMENTED })
  })
})

describe("etcd gRPC server shutdown", () => {
  test("graceful shutdown lets an in-flight call finish; force shutdown closes connections", async () => {
    const server = await startEtcdGrpcServer({
      service: new EtcdService(new MemoryEtcdBackend()),
      address: "127.0.0.1:0",
    })
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure())
    const waiter = await holdLock(client, "l")
    // In flight until its deadline: shutdown must wait for it, not cut it off.
    const waiting = unary(
      client,
      pb.LockService.Lock.path,
      pb.encodeLockRequest({ name: te.encode("l"), lease: waiter }),
      400,
    )
    await Bun.sleep(50)
    let closed = false
    const closing = server.shutdown().then(() => {
      closed = true
    })
    expect(await waiting).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED })
    await closing
    expect(closed).toBe(true)
    expect(server.connections()).toBe(0)
    // The listener is closed: a new call fails.
    const after = await unary(
      client,
      pb.KVService.Range.path,
      pb.encodeRangeRequest({ key: te.encode("a") }),
      1_000,
    )
    expect("code" in after).toBe(true)
    client.close()

    const forced = await startEtcdGrpcServer({
      service: new EtcdService(new MemoryEtcdBackend()),
      address: "127.0.0.1:0",
    })
    const c2 = new grpc.Client(`127.0.0.1:${forced.port}`, grpc.credentials.createInsecure())
    okOf(
      await unary(
        c2,
        pb.KVService.Put.path,
        pb.encodePutRequest({ key: te.encode("a"), value: te.encode("1") }),
      ),
    )
    forced.forceShutdown()
    expect(forced.connections()).toBe(0)
    c2.close()
  })
})
