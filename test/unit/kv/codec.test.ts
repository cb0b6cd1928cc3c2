/** The binary command/outcome codec round-trips, and rejects garbage instead of misreading it. */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { type KvCommand, MAX_LEASE_ID, MAX_LEASE_TTL_MS } from "../../../schemas/kv.ts"
import { CodecError } from "../../../src/kv/binary.ts"
import { decodeCommand, decodeOutcome, encodeCommand, encodeOutcome } from "../../../src/kv/codec.ts"
import { deleteArb, putArb, rangeArb, txnArb } from "./gen.ts"
import { b, openFixture } from "./helpers.ts"

const commandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  putArb.map((request) => ({
    type: "put" as const,
    request,
    tenant: "t1",
    idempotency: { clientId: "c", requestId: 9 },
  })),
  deleteArb.map((request) => ({ type: "deleteRange" as const, request })),
  txnArb(2).map((request) => ({ type: "txn" as const, request })),
  fc
    .integer({ min: -5, max: 2 ** 40 })
    .map((revision) => ({ type: "compact" as const, request: { revision, physical: true } })),
  fc.tuple(fc.nat(), fc.nat()).map(([tick, ms]) => ({ type: "tick" as const, tick, ms })),
  fc
    .tuple(fc.integer({ min: 0, max: MAX_LEASE_ID }), fc.integer({ min: 1, max: MAX_LEASE_TTL_MS }))
    .map(([id, ttlMs]) => ({ type: "leaseGrant" as const, request: { id, ttlMs } })),
  fc.nat().map((id) => ({ type: "leaseRevoke" as const, request: { id } })),
  fc
    .array(fc.integer({ min: 1, max: MAX_LEASE_ID }), { maxLength: 20 })
    .map((ids) => ({ type: "leaseRenew" as const, request: { ids } })),
)

test("commands round-trip: decode(encode(c)) re-encodes to the same bytes", () => {
  fc.assert(
    fc.property(commandArb, (c) => {
      const bytes = encodeCommand(c)
      expect(encodeCommand(decodeCommand(bytes))).toEqual(bytes)
    }),
    { numRuns: 300 },
  )
})

test("a range request keeps every field", () => {
  fc.assert(
    fc.property(rangeArb(fc.integer({ min: -3, max: 1e9 })), (request) => {
      const c = decodeCommand(
        encodeCommand({
          type: "txn",
          request: { compare: [], success: [{ type: "range", request }], failure: [] },
        }),
      )
      expect(c.type === "txn" && c.request.success[0]!.request).toEqual({ serializable: false, ...request })
    }),
    { numRuns: 100 },
  )
})

test("outcomes of real applies round-trip", () => {
  const f = openFixture()
  fc.assert(
    fc.property(commandArb, (c) => {
      const o = f.sm.apply(f.sm.appliedIndex + 1, c).outcome
      expect(decodeOutcome(encodeOutcome(o))).toEqual(o)
    }),
    { numRuns: 200 },
  )
  f.close()
})

test("truncated or trailing bytes are rejected", () => {
  const bytes = encodeCommand({ type: "put", request: { key: b("key"), value: b("value") } })
  expect(() => decodeCommand(bytes.subarray(0, bytes.length - 2))).toThrow(CodecError)
  expect(() => decodeCommand(new Uint8Array([...bytes, 0]))).toThrow(CodecError)
  expect(() => decodeCommand(new Uint8Array([9, 0]))).toThrow(CodecError)
})
