/**
 * gRPC-level behaviour with a plain grpc-js client: etcd's status codes for bad requests,
 * oversized requests, undecodable bytes and services Lattice does not serve yet.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as grpc from "@grpc/grpc-js"
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../../src/adapters/etcd/grpc-server.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { MemoryEtcdBackend } from "./support/memory-backend.ts"

const te = new TextEncoder()

describe("etcd gRPC server status codes", () => {
  let server: EtcdGrpcServer
  let client: grpc.Client

  beforeAll(async () => {
    const service = new EtcdService(new MemoryEtcdBackend(), { maxRequestBytes: 1024 })
    server = await startEtcdGrpcServer({ service, address: "127.0.0.1:0" })
    client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure())
  })
  afterAll(() => {
    client.close()
    server.forceShutdown()
  })

  /** A raw unary call: request bytes in, decoded response or {code, details} out. */
  const call = (path: string, body: Uint8Array) =>
    new Promise<{ ok: Buffer } | { code: number; details: string }>((resolve) =>
      client.makeUnaryRequest(
        path,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        body,
        (err, res) => resolve(err ? { code: err.code, details: err.details } : { ok: res! }),
      ),
    )

  test("a put then a range round-trips through the generated codecs", async () => {
    const put = await call(
      pb.KVService.Put.path,
      pb.encodePutRequest({ key: te.encode("k"), value: te.encode("v") }),
    )
    expect("ok" in put).toBe(true)
    const got = await call(pb.KVService.Range.path, pb.encodeRangeRequest({ key: te.encode("k") }))
    if (!("ok" in got)) throw new Error(got.details)
    const res = pb.decodeRangeResponse(got.ok)
    expect(res.count).toBe(1n)
    expect(new TextDecoder().decode(res.kvs![0]!.value)).toBe("v")
    expect(res.header!.clusterId).toBe(0x1234_5678_9abc_def0n)
  })

  test("bad input: INVALID_ARGUMENT with etcd's message", async () => {
    expect(await call(pb.KVService.Range.path, pb.encodeRangeRequest({}))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: "etcdserver: key is not provided",
    })
    const big = pb.encodePutRequest({ key: te.encode("k"), value: new Uint8Array(2048) })
    expect(await call(pb.KVService.Put.path, big)).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: "etcdserver: request is too large",
    })
  })

  test("undecodable bytes: INTERNAL, as grpc-go reports an unmarshal failure", async () => {
    const r = await call(pb.KVService.Range.path, new Uint8Array([0x0a, 0x05, 0x01]))
    expect(r).toMatchObject({ code: grpc.status.INTERNAL })
    expect((r as { details: string }).details).toStartWith("grpc: error unmarshalling request:")
  })

  test("compacted and future revisions: OUT_OF_RANGE", async () => {
    await call(pb.KVService.Put.path, pb.encodePutRequest({ key: te.encode("a"), value: te.encode("1") }))
    const future = await call(
      pb.KVService.Range.path,
      pb.encodeRangeRequest({ key: te.encode("a"), revision: 99n }),
    )
    expect(future).toEqual({
      code: grpc.status.OUT_OF_RANGE,
      details: "etcdserver: mvcc: required revision is a future revision",
    })
    await call(pb.KVService.Compact.path, pb.encodeCompactionRequest({ revision: 2n }))
    const old = await call(
      pb.KVService.Range.path,
      pb.encodeRangeRequest({ key: te.encode("a"), revision: 1n }),
    )
    expect(old).toEqual({
      code: grpc.status.OUT_OF_RANGE,
      details: "etcdserver: mvcc: required revision has been compacted",
    })
  })

  test("membership changes before membership exists, and unserved services", async () => {
    const add = await call(
      pb.ClusterService.MemberAdd.path,
      pb.encodeMemberAddRequest({ peerURLs: ["http://10.0.0.9:2380"] }),
    )
    expect(add).toEqual({ code: grpc.status.UNAVAILABLE, details: "etcdserver: not capable" })
    const promote = await call(
      pb.ClusterService.MemberPromote.path,
      pb.encodeMemberPromoteRequest({ ID: 0x0fed_cba9_8765_4321n }),
    )
    expect(promote).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: "etcdserver: can only promote a learner member",
    })
    // The Auth service is not part of the subset.
    const auth = await call("/etcdserverpb.Auth/Authenticate", new Uint8Array(0))
    expect(auth).toMatchObject({ code: grpc.status.UNIMPLEMENTED })
  })
})
