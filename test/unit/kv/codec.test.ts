/** The binary command/outcome codec round-trips, and rejects garbage instead of misreading it. */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { type KvCommand, MAX_LEASE_ID, MAX_LEASE_TTL_MS } from "../../../schemas/kv.ts"
import { BinaryReader, BinaryWriter, CodecError } from "../../../src/kv/binary.ts"
import { decodeCommand, decodeOutcome, encodeCommand, encodeOutcome } from "../../../src/kv/codec.ts"
import { deleteArb, putArb, rangeArb, txnArb } from "./gen.ts"
import { b, openFixture } from "./helpers.ts"

/** Any positive int64, biased to the edges (2^52, 2^53, 2^63 - 1). */
const leaseIdArb = fc.oneof(
  fc.bigInt({ min: 1n, max: MAX_LEASE_ID }),
  fc.constantFrom(1n, 2n ** 52n - 1n, 2n ** 52n, 2n ** 53n, 2n ** 53n + 1n, MAX_LEASE_ID - 1n, MAX_LEASE_ID),
)

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
    .tuple(leaseIdArb, fc.integer({ min: 1, max: MAX_LEASE_TTL_MS }))
    .map(([id, ttlMs]) => ({ type: "leaseGrant" as const, request: { id, ttlMs } })),
  leaseIdArb.map((id) => ({ type: "leaseRevoke" as const, request: { id } })),
  fc.array(leaseIdArb, { maxLength: 20 }).map((ids) => ({ type: "leaseRenew" as const, request: { ids } })),
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

test("int64 lease ids and compare operands round-trip exactly, beyond 2^53 (fast-check)", () => {
  const int64 = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: MAX_LEASE_ID }),
    fc.constantFrom(-(2n ** 63n), -1n, 0n, 2n ** 52n, 2n ** 53n + 1n, MAX_LEASE_ID),
  )
  fc.assert(
    fc.property(
      leaseIdArb,
      int64,
      fc.constantFrom("VERSION", "CREATE", "MOD", "LEASE"),
      (lease, operand, target) => {
        const c: KvCommand = {
          type: "txn",
          request: {
            compare: [{ key: b("k"), target, result: "EQUAL", operand }],
            success: [{ type: "put", request: { key: b("k"), lease } }],
            failure: [],
          },
        }
        const back = decodeCommand(encodeCommand(c))
        if (back.type !== "txn") throw new Error("not a txn")
        expect(back.request.compare[0]!.operand).toBe(operand)
        expect(back.request.success[0]!.type === "put" && back.request.success[0]!.request.lease).toBe(lease)
        const grant = decodeCommand(encodeCommand({ type: "leaseGrant", request: { id: lease, ttlMs: 5 } }))
        expect(grant.type === "leaseGrant" && grant.request.id).toBe(lease)
      },
    ),
    { numRuns: 500 },
  )
})

test("int64 varints write the same bytes as the safe-integer varints (old log entries still decode)", () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }), (v) => {
      const old = new BinaryWriter().int(v).finish()
      expect(new BinaryWriter().int64(BigInt(v)).finish()).toEqual(old)
      expect(new BinaryReader(old).int64()).toBe(BigInt(v))
    }),
    { numRuns: 500 },
  )
  expect(() => new BinaryWriter().int64(2n ** 63n)).toThrow(CodecError)
  // An 11-byte varint, or one above 2^64, is garbage.
  expect(() => new BinaryReader(new Uint8Array(11).fill(0xff)).int64()).toThrow(CodecError)
})
