import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { handleRequest } from "../../../src/adapters/nats/handle-request.ts"
import { KvEtcdBackend } from "../etcd/support/kv-backend.ts"

const b64 = (s: string) => Buffer.from(s).toString("base64")
const body = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))

describe("handleRequest over a KvStateMachine backend", () => {
  let backend: KvEtcdBackend
  let svc: EtcdService
  beforeEach(() => {
    backend = new KvEtcdBackend()
    svc = new EtcdService(backend, { maxTxnOps: 4 })
  })
  afterEach(() => backend.close())

  const ask = async (op: Parameters<typeof handleRequest>[1], req: unknown) =>
    JSON.parse(
      await handleRequest(svc, op, typeof req === "string" ? new TextEncoder().encode(req) : body(req)),
    )

  test("put then range answers etcd-gateway shapes with string revisions", async () => {
    const put = await ask("put", { key: b64("foo"), value: b64("bar") })
    expect(put.header.revision).toBe("2")
    const range = await ask("range", { key: b64("foo") })
    expect(range.count).toBe("1")
    expect(range.kvs[0]).toEqual({
      key: b64("foo"),
      value: b64("bar"),
      create_revision: "2",
      mod_revision: "2",
      version: "1",
      lease: "0",
    })
  })

  test("bad input is INVALID_ARGUMENT with the path, and the backend's checks keep etcd's messages", async () => {
    expect(await ask("put", { value: b64("v") })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "key: is missing" },
    })
    expect(await ask("put", "not json")).toMatchObject({ error: { code: "INVALID_ARGUMENT" } })
    expect(await ask("put", { key: "" })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "etcdserver: key is not provided" },
    })
    const many = Array.from({ length: 5 }, (_, i) => ({ request_put: { key: b64(`k${i}`) } }))
    expect(await ask("txn", { success: many })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "etcdserver: too many operations in txn request" },
    })
  })

  test("a linearizable read without a leader fails closed UNAVAILABLE; a serializable one is served", async () => {
    await ask("put", { key: b64("a"), value: b64("1") })
    backend.leader = 0n
    expect(await ask("range", { key: b64("a") })).toMatchObject({ error: { code: "UNAVAILABLE" } })
    expect((await ask("range", { key: b64("a"), serializable: true })).count).toBe("1")
  })

  test("txn compares by value and runs nested txns; a duplicate key is etcd's error", async () => {
    await ask("put", { key: b64("k"), value: b64("v1") })
    const res = await ask("txn", {
      compare: [{ key: b64("k"), target: "VALUE", result: "EQUAL", value: b64("v1") }],
      success: [{ request_txn: { success: [{ request_put: { key: b64("k"), value: b64("v2") } }] } }],
    })
    expect(res.succeeded).toBe(true)
    expect(res.responses[0].response_txn.succeeded).toBe(true)
    expect((await ask("range", { key: b64("k") })).kvs[0].value).toBe(b64("v2"))
    const dup = await ask("txn", {
      success: [{ request_put: { key: b64("d") } }, { request_delete_range: { key: b64("d") } }],
    })
    expect(dup).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "etcdserver: duplicate key given in txn request" },
    })
  })

  test("an oversized request is rejected before decoding", async () => {
    const small = new EtcdService(backend, { maxRequestBytes: 64 })
    const big = new TextEncoder().encode(JSON.stringify({ key: b64("k"), value: b64("x".repeat(100)) }))
    expect(JSON.parse(await handleRequest(small, "put", big))).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "etcdserver: request is too large" },
    })
  })

  test("status lists the members and the leader", async () => {
    const s = await ask("status", {})
    expect(s.leader).toBe(backend.memberId.toString())
    expect(s.members).toHaveLength(1)
    expect(s.members[0].id).toBe(backend.memberId.toString())
  })
})
