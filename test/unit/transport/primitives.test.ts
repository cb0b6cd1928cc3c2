import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import fc from "fast-check"
import { ByteReader, ByteWriter, DecodeFailure } from "../../../src/transport/bytes.ts"
import { DropOldestQueue } from "../../../src/transport/drop-oldest-queue.ts"
import { reconnectDelayMillis } from "../../../src/transport/nats-config.ts"
import { makePrng, seedFromString } from "../../../src/transport/prng.ts"
import { decodeReply, decodeRequest, encodeReply, encodeRequest } from "../../../src/transport/rpc-frame.ts"
import { isValidToken, raftSubject, rpcSubject } from "../../../src/transport/subjects.ts"
import { unicodeString } from "./helpers.ts"

describe("varints and byte strings", () => {
  test("property: every non-negative safe integer round-trips, in at most 8 bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat(), { maxLength: 20 }), (values) => {
        const w = new ByteWriter(1)
        for (const v of values) w.uvarint(v)
        expect(w.length).toBeLessThanOrEqual(values.length * 8)
        const r = new ByteReader(w.finish())
        expect(values.map(() => r.uvarint())).toEqual(values)
        expect(r.remaining).toBe(0)
      }),
    )
  })

  test("small values take one byte, 128 takes two", () => {
    const w = new ByteWriter()
    w.uvarint(127)
    expect(w.length).toBe(1)
    w.uvarint(128)
    expect(w.length).toBe(3)
  })

  test("refuses negative, fractional and unsafe integers when writing", () => {
    const w = new ByteWriter()
    expect(() => w.uvarint(-1)).toThrow(RangeError)
    expect(() => w.uvarint(1.5)).toThrow(RangeError)
    expect(() => w.uvarint(2 ** 53)).toThrow(RangeError)
  })

  test("rejects a varint above 2^53 and invalid UTF-8 when reading", () => {
    // 8 bytes of 0xff then 0x7f: far above 2^53.
    const tooBig = new ByteReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))
    expect(() => tooBig.uvarint()).toThrow(DecodeFailure)
    const badUtf8 = new ByteReader(Uint8Array.of(2, 0xc3, 0x28))
    expect(() => badUtf8.string()).toThrow(/UTF-8/)
  })

  test("property: strings and bytes round-trip", () => {
    fc.assert(
      fc.property(unicodeString(40), fc.uint8Array(), (s, b) => {
        const w = new ByteWriter(2)
        w.string(s)
        w.bytes(b)
        const r = new ByteReader(w.finish())
        expect(r.string()).toBe(s)
        expect(r.bytes()).toEqual(b)
      }),
    )
  })
})

describe("DropOldestQueue", () => {
  test("keeps the newest `capacity` items in order and counts evictions", () => {
    const q = new DropOldestQueue<number>(3)
    expect(q.pushAll([1, 2])).toBe(0)
    expect(q.pushAll([3, 4, 5])).toBe(2)
    expect(q.takeAll()).toEqual([3, 4, 5])
    expect(q.takeAll()).toEqual([])
    expect(q.pushAll([6])).toBe(0)
    expect(q.takeAll()).toEqual([6])
  })

  test("property: behaves like an array trimmed from the front", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.oneof(fc.array(fc.nat(), { maxLength: 15 }), fc.constant("take" as const)), {
          maxLength: 30,
        }),
        (capacity, ops) => {
          const q = new DropOldestQueue<number>(capacity)
          let model: number[] = []
          let evicted = 0
          let counted = 0
          for (const op of ops) {
            if (op === "take") {
              expect(q.takeAll()).toEqual(model)
              model = []
            } else {
              counted += q.pushAll(op)
              model.push(...op)
              if (model.length > capacity) {
                evicted += model.length - capacity
                model = model.slice(model.length - capacity)
              }
            }
            expect(q.size).toBe(model.length)
          }
          expect(counted).toBe(evicted)
        },
      ),
    )
  })

  test("refuses a capacity below 1", () => {
    expect(() => new DropOldestQueue(0)).toThrow(RangeError)
  })
})

describe("request-reply envelopes", () => {
  test("requests and replies round-trip; garbage is a typed error", () => {
    const request = { from: "n1", payload: Uint8Array.of(1, 2, 3) }
    expect(decodeRequest(encodeRequest(request))).toEqual(Either.right(request))
    const ok = { status: "ok", payload: Uint8Array.of(9) } as const
    expect(decodeReply(encodeReply(ok))).toEqual(Either.right(ok))
    const failed = { status: "failed", message: "no leader" } as const
    expect(decodeReply(encodeReply(failed))).toEqual(Either.right(failed))
    expect(Either.isLeft(decodeReply(Uint8Array.of(1, 7)))).toBe(true)
    expect(Either.isLeft(decodeRequest(Uint8Array.of(0, 0, 0)))).toBe(true)
    expect(Either.isLeft(decodeRequest(Uint8Array.of(...encodeRequest(request), 0)))).toBe(true)
  })

  test("mixed versions: an envelope from a newer node (higher version, appended fields) decodes", () => {
    const request = { from: "n1", payload: Uint8Array.of(1, 2, 3) }
    const newer = encodeRequest(request)
    newer[0] = newer[0]! + 1
    expect(decodeRequest(Uint8Array.of(...newer, 42, 42))).toEqual(Either.right(request))
    const reply = encodeReply({ status: "ok", payload: Uint8Array.of(9) })
    reply[0] = reply[0]! + 1
    expect(decodeReply(Uint8Array.of(...reply, 7))).toEqual(
      Either.right({ status: "ok", payload: Uint8Array.of(9) }),
    )
  })
})

describe("subjects", () => {
  test("follow lattice.<cluster>.raft.<node> and lattice.<cluster>.rpc.<node>.<service>", () => {
    expect(raftSubject("prod", "n1")).toBe("lattice.prod.raft.n1")
    expect(rpcSubject("prod", "n2", "kv")).toBe("lattice.prod.rpc.n2.kv")
  })

  test("tokens cannot inject levels or wildcards", () => {
    for (const ok of ["n1", "node-1", "A_b-9"]) expect(isValidToken(ok)).toBe(true)
    for (const bad of ["", "a.b", "*", ">", "a b", "n1\n", "é"]) expect(isValidToken(bad)).toBe(false)
  })
})

describe("reconnect backoff and PRNG", () => {
  test("doubles per failure from the initial delay, is capped, and adds at most 20% jitter", () => {
    expect(reconnectDelayMillis(0, 50, 2000, 0)).toBe(50)
    expect(reconnectDelayMillis(1, 50, 2000, 0)).toBe(100)
    expect(reconnectDelayMillis(3, 50, 2000, 0)).toBe(400)
    expect(reconnectDelayMillis(10, 50, 2000, 0)).toBe(2000)
    expect(reconnectDelayMillis(1000, 50, 2000, 0.999)).toBeLessThanOrEqual(2400)
  })

  test("the PRNG is reproducible per seed and uniform enough", () => {
    const a = makePrng(seedFromString("c/n1"))
    const b = makePrng(seedFromString("c/n1"))
    const xs = Array.from({ length: 1000 }, () => a.next())
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()))
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(mean).toBeGreaterThan(0.45)
    expect(mean).toBeLessThan(0.55)
    expect(seedFromString("c/n1")).not.toBe(seedFromString("c/n2"))
  })
})
