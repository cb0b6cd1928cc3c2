import { describe, expect, test } from "bun:test"
import { Schema } from "effect"
import * as api from "../../../schemas/nats-api.ts"

const b64 = (s: string) => Buffer.from(s).toString("base64")
const bytes = (s: string) => new TextEncoder().encode(s)

describe("NATS API schemas", () => {
  test("a range request decodes base64 bytes, string and number revisions, enum names", () => {
    const r = api.decodeJson(
      api.RangeRequest,
      JSON.stringify({ key: b64("a"), range_end: b64("b"), revision: "7", limit: 3, sort_order: "DESCEND" }),
    )
    expect(r).toEqual({
      ok: true,
      value: { key: bytes("a"), range_end: bytes("b"), revision: 7n, limit: 3n, sort_order: "DESCEND" },
    })
  })

  test("a nested txn request round-trips through encode and decode", () => {
    const txn: api.TxnRequest = {
      compare: [{ key: bytes("k"), result: "EQUAL", target: "MOD", mod_revision: 5n }],
      success: [
        { request_put: { key: bytes("k"), value: bytes("v"), prev_kv: true } },
        { request_txn: { success: [{ request_range: { key: bytes("k") } }] } },
      ],
      failure: [{ request_delete_range: { key: bytes("k") } }],
    }
    const wire = JSON.stringify(Schema.encodeSync(api.TxnRequest)(txn))
    expect(JSON.parse(wire).compare[0]).toEqual({
      key: b64("k"),
      result: "EQUAL",
      target: "MOD",
      mod_revision: "5",
    })
    expect(api.decodeJson(api.TxnRequest, wire)).toEqual({ ok: true, value: txn })
  })

  test("responses encode int64 as decimal strings and bytes as base64, and decode back", () => {
    const res: api.RangeResponse = {
      header: { cluster_id: 2n ** 63n - 1n, member_id: 1n, revision: 9n, raft_term: 2n },
      kvs: [
        { key: bytes("k"), value: bytes("v"), create_revision: 3n, mod_revision: 9n, version: 2n, lease: 0n },
      ],
      more: false,
      count: 1n,
    }
    const wire = Schema.encodeSync(api.RangeResponse)(res)
    expect(wire.header.cluster_id).toBe("9223372036854775807")
    expect(wire.kvs[0]?.value).toBe(b64("v"))
    expect(api.decodeJson(api.RangeResponse, JSON.stringify(wire))).toEqual({ ok: true, value: res })
  })

  test("a missing key is reported with its name", () => {
    const r = api.decodeJson(api.PutRequest, JSON.stringify({ value: b64("v") }))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toBe("key: is missing")
  })

  test("bad base64, a non-integer revision, an unknown enum and an unknown field name the path", () => {
    const badB64 = api.decodeJson(api.PutRequest, JSON.stringify({ key: "!!!" }))
    expect(badB64.ok).toBe(false)
    if (!badB64.ok) expect(badB64.message).toStartWith("key: ")

    const badRev = api.decodeJson(api.RangeRequest, JSON.stringify({ key: b64("a"), revision: "x1" }))
    expect(badRev.ok).toBe(false)
    if (!badRev.ok) expect(badRev.message).toStartWith("revision: ")

    const badEnum = api.decodeJson(
      api.TxnRequest,
      JSON.stringify({ compare: [{ key: b64("a"), result: "SAME" }] }),
    )
    expect(badEnum.ok).toBe(false)
    if (!badEnum.ok) expect(badEnum.message).toStartWith("compare[0].result: ")
    if (!badEnum.ok) expect(badEnum.message).toContain('"NOT_EQUAL"')

    const extra = api.decodeJson(api.PutRequest, JSON.stringify({ key: b64("a"), prevKv: true }))
    expect(extra.ok).toBe(false)
    if (!extra.ok) expect(extra.message).toStartWith("prevKv: is unexpected")
  })

  test("int64 numbers must be safe integers; larger values go as decimal strings", () => {
    expect(api.decodeJson(api.CompactionRequest, '{"revision":1.5}').ok).toBe(false)
    expect(api.decodeJson(api.CompactionRequest, '{"revision":1152921504606846977}').ok).toBe(false)
    expect(api.decodeJson(api.CompactionRequest, '{"revision":"1152921504606846977"}')).toEqual({
      ok: true,
      value: { revision: 1152921504606846977n },
    })
  })

  test("invalid JSON is an error, not a throw", () => {
    const r = api.decodeJson(api.PutRequest, "{not json")
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toStartWith("invalid JSON")
  })

  test("an empty status request is {}", () => {
    expect(api.decodeJson(api.StatusRequest, "")).toEqual({ ok: true, value: {} })
  })
})
