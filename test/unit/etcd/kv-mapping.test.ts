/** The etcd wire types ↔ KvStateMachine types mapping used by the node's backend. */
import { describe, expect, test } from "bun:test"
import { KvError } from "../../../schemas/kv.ts"
import { EtcdError } from "../../../src/adapters/etcd/errors.ts"
import * as map from "../../../src/adapters/etcd/kv-mapping.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"

const te = new TextEncoder()

describe("kv mapping", () => {
  test("a compare reads the operand that matches its target, like etcd", () => {
    const c = map.toKvCompare({
      key: te.encode("k"),
      target: pb.Compare_CompareTarget.MOD,
      result: pb.Compare_CompareResult.LESS,
      modRevision: 7n,
    })
    expect(c).toMatchObject({ target: "MOD", result: "LESS", operand: 7n })
    // The union holds `version` but the target is CREATE: the operand is 0.
    expect(map.toKvCompare({ key: te.encode("k"), target: 1, version: 5n }).operand).toBe(0n)
    const v = map.toKvCompare({ key: te.encode("k"), target: pb.Compare_CompareTarget.VALUE })
    expect(v.value).toEqual(new Uint8Array(0))
  })

  test("nested txn ops and responses map both ways", () => {
    const t = map.toKvTxn({
      compare: [],
      success: [{ requestTxn: { success: [{ requestPut: { key: te.encode("a") } }] } }],
      failure: [{ requestRange: { key: te.encode("a"), sortOrder: 2, sortTarget: 3, limit: 4n } }],
    })
    expect(t.success[0]!.type).toBe("txn")
    expect(t.failure[0]).toMatchObject({
      type: "range",
      request: { sortOrder: "DESCEND", sortTarget: "MOD", limit: 4 },
    })
    const res = map.fromKvTxn({
      header: { revision: 9 },
      succeeded: true,
      responses: [{ type: "put", response: { header: { revision: 0 } } }],
    })
    expect(pb.toJsonTxnResponse(res)).toBe(
      '{"header":{"revision":"9"},"succeeded":true,"responses":[{"response_put":{"header":{}}}]}',
    )
  })

  test("out-of-range values and enums", () => {
    expect(map.toNumber(2n ** 63n - 1n)).toBe(Number.MAX_SAFE_INTEGER)
    expect(map.toKvRange({ key: te.encode("a"), sortOrder: 9, sortTarget: 9 })).toMatchObject({
      sortOrder: "NONE",
      sortTarget: "KEY",
    })
    expect(() => map.toKvCompare({ key: te.encode("a"), target: 9 })).toThrow(EtcdError)
    expect(() => map.toKvRequestOp({})).toThrow("etcdserver: key not found")
  })

  test("KV errors keep etcd's code and message", () => {
    const e = map.kvErrorToEtcd(new KvError("Compacted"))
    expect([e.code, e.message]).toEqual([11, "etcdserver: mvcc: required revision has been compacted"])
    expect(() => map.unwrapOutcome({ ok: false, error: new KvError("LeaseNotFound") }, "put")).toThrow(
      "etcdserver: requested lease not found",
    )
  })
})
