/** Proto3 JSON details (Go-compatible escaping, strict base64, accepted spellings) and etcd's request checks. */
import { describe, expect, test } from "bun:test"
import { EtcdError } from "../../../src/adapters/etcd/errors.ts"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { base64Decode, goQuote, JsonDecodeError } from "../../../src/adapters/etcd/proto/json.ts"
import { checkPut, checkTxn, validPeerURLs } from "../../../src/adapters/etcd/validate.ts"

const te = new TextEncoder()
const put = (key: string): pb.RequestOp => ({ requestPut: { key: te.encode(key) } })
const del = (key: string, end?: string): pb.RequestOp => ({
  requestDeleteRange: { key: te.encode(key), rangeEnd: end === undefined ? undefined : te.encode(end) },
})
const nested = (success: pb.RequestOp[], failure: pb.RequestOp[] = []): pb.RequestOp => ({
  requestTxn: { success, failure },
})
const etcdMessage = (f: () => void): string | undefined => {
  try {
    f()
    return undefined
  } catch (e) {
    if (e instanceof EtcdError) return e.message
    throw e
  }
}

describe("proto3 JSON", () => {
  test("strings are escaped as Go's encoding/json does", () => {
    expect(goQuote('a"b\\c\n<&>\u2028\u0001é😀')).toBe(
      '"a\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u2028\\u0001é😀"',
    )
    expect(goQuote("\ud800x")).toBe('"\\ufffdx"')
  })

  test("bytes need padded standard base64", () => {
    expect([...base64Decode("AAE=")]).toEqual([0, 1])
    expect(() => base64Decode("AAE")).toThrow(JsonDecodeError)
    expect(() => base64Decode("AA-_")).toThrow("illegal base64 data at input byte 2")
  })

  test("fields are accepted under proto and lowerCamel names, int64 as string or number, enums by name or number", () => {
    const a = pb.fromJsonRangeRequest({ key: "YQ==", range_end: "Yg==", limit: "5", sort_order: "DESCEND" })
    const b = pb.fromJsonRangeRequest({ key: "YQ==", rangeEnd: "Yg==", limit: 5, sortOrder: 2 })
    expect(a).toEqual(b)
    expect(a.limit).toBe(5n)
    expect(pb.fromJsonMemberRemoveRequest({ ID: "18446744073709551615" }).ID).toBe(2n ** 64n - 1n)
    expect(() => pb.fromJsonRangeRequest({ key: 5 })).toThrow(JsonDecodeError)
    expect(() => pb.fromJsonRangeRequest({ limit: "9223372036854775808" })).toThrow(JsonDecodeError)
  })

  test("zero values are omitted, but a set oneof member is written even when zero", () => {
    expect(pb.toJsonRangeResponse({ header: {}, kvs: [], more: false, count: 0n })).toBe('{"header":{}}')
    const c: pb.Compare = { key: te.encode("k"), version: 0n }
    expect(pb.toJsonCompare(c)).toBe('{"key":"aw==","version":"0"}')
    expect(pb.decodeCompare(pb.encodeCompare(c)).version).toBe(0n)
    // Two members of one oneof on the wire: the last one wins.
    const both = new Uint8Array([
      ...pb.encodeCompare({ version: 3n }),
      ...pb.encodeCompare({ value: te.encode("v") }),
    ])
    expect(pb.decodeCompare(both)).toMatchObject({ version: undefined, value: te.encode("v") })
    expect(pb.toJsonEvent({ type: pb.Event_EventType.DELETE })).toBe('{"type":"DELETE"}')
    expect(pb.toJsonEvent({ type: 7 })).toBe('{"type":7}')
  })
})

describe("etcd request checks", () => {
  test("put", () => {
    expect(etcdMessage(() => checkPut({}))).toBe("etcdserver: key is not provided")
    expect(
      etcdMessage(() => checkPut({ key: te.encode("k"), ignoreValue: true, value: te.encode("v") })),
    ).toBe("etcdserver: value is provided")
    expect(etcdMessage(() => checkPut({ key: te.encode("k"), ignoreLease: true, lease: 3n }))).toBe(
      "etcdserver: lease is provided",
    )
  })

  test("txn writes to one key at most once per branch path", () => {
    const dup = "etcdserver: duplicate key given in txn request"
    expect(etcdMessage(() => checkTxn({ success: [put("a"), put("b")] }))).toBeUndefined()
    expect(etcdMessage(() => checkTxn({ success: [put("a"), put("a")] }))).toBe(dup)
    expect(etcdMessage(() => checkTxn({ success: [del("a", "c"), put("b")] }))).toBe(dup)
    expect(etcdMessage(() => checkTxn({ success: [del("a", "c"), put("c")] }))).toBeUndefined()
    // etcd compares a "\0" range end literally in this check, so it never conflicts.
    expect(etcdMessage(() => checkTxn({ success: [del("a", "\0"), put("zzz")] }))).toBeUndefined()
    // then/else of a nested txn exclude each other.
    expect(etcdMessage(() => checkTxn({ success: [nested([put("a")], [put("a")])] }))).toBeUndefined()
    expect(etcdMessage(() => checkTxn({ success: [put("a"), nested([put("a")])] }))).toBe(dup)
    // Success and failure of the top-level txn are checked separately.
    expect(etcdMessage(() => checkTxn({ success: [put("a")], failure: [put("a")] }))).toBeUndefined()
  })

  test("txn size, empty ops and empty compare keys", () => {
    const many = Array.from({ length: 129 }, (_, i) => put(`k${i}`))
    expect(etcdMessage(() => checkTxn({ success: many }))).toBe(
      "etcdserver: too many operations in txn request",
    )
    expect(etcdMessage(() => checkTxn({ success: many }, 200))).toBeUndefined()
    expect(etcdMessage(() => checkTxn({ success: [{}] }))).toBe("etcdserver: key not found")
    expect(etcdMessage(() => checkTxn({ compare: [{}] }))).toBe("etcdserver: key is not provided")
  })

  test("member peer URLs", () => {
    expect(validPeerURLs(["http://10.0.0.1:2380"])).toBe(true)
    expect(validPeerURLs(["bad"])).toBe(false)
    expect(validPeerURLs(["http://10.0.0.1"])).toBe(false)
    expect(validPeerURLs([])).toBe(false)
  })
})
