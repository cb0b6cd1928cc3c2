import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import fc from "fast-check"
import type { Message } from "../../../src/raft/messages.ts"
import { ByteWriter } from "../../../src/transport/bytes.ts"
import { decodeFrame, encodeFrame, encodeFrames, FRAME_VERSION } from "../../../src/transport/raft-codec.ts"
import { messageArb, variantArbitraries } from "./message-arbitrary.ts"
import { allSamples, heartbeat, messageSamples } from "./message-samples.ts"

const runs = Number(process.env.LATTICE_CODEC_RUNS ?? 200)

const decodeOk = (frame: Uint8Array): Message[] => {
  const decoded = decodeFrame(frame)
  if (Either.isLeft(decoded))
    throw new Error(`decode failed: ${decoded.left.reason} at ${decoded.left.offset}`)
  return decoded.right
}

const decodeErr = (frame: Uint8Array) => {
  const decoded = decodeFrame(frame)
  if (Either.isRight(decoded)) throw new Error("expected a decode error")
  return decoded.left
}

describe("raft codec", () => {
  test("every hand-written message type round-trips, alone and in one batch", () => {
    for (const message of allSamples) expect(decodeOk(encodeFrame([message]))).toEqual([message])
    expect(decodeOk(encodeFrame(allSamples))).toEqual([...allSamples])
  })

  for (const [type, arb] of variantArbitraries) {
    test(`property: arbitrary ${type} messages round-trip`, () => {
      fc.assert(
        fc.property(arb, (message) => {
          expect(decodeOk(encodeFrame([message]))).toEqual([message])
        }),
        { numRuns: runs },
      )
    })
  }

  test("property: mixed batches (many groups, many nodes) round-trip in order", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 30 }), (batch) => {
        expect(decodeOk(encodeFrame(batch))).toEqual(batch)
      }),
      { numRuns: runs },
    )
  })

  test("property: splitting by frame size keeps order, respects the limit and drops only oversize messages", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 30 }),
        fc.integer({ min: 8, max: 400 }),
        (batch, limit) => {
          const { frames, oversize } = encodeFrames(batch, limit)
          for (const frame of frames) expect(frame.length).toBeLessThanOrEqual(limit)
          const received = frames.flatMap(decodeOk)
          const fits = batch.filter((m) => encodeFrames([m], limit).oversize === 0)
          expect(received).toEqual(fits)
          expect(oversize).toBe(batch.length - fits.length)
        },
      ),
      { numRuns: runs },
    )
  })

  test("many small messages share one frame, and node ids are written once per frame", () => {
    const batch = Array.from({ length: 100 }, (_, g) =>
      heartbeat(g, "node-with-a-long-name", "peer-long-name"),
    )
    const { frames } = encodeFrames(batch, 1 << 20)
    expect(frames.length).toBe(1)
    // type + group + from + to + term + commit + context: about 7-8 bytes each, far below the ids' length.
    expect(frames[0]!.length).toBeLessThan(100 * 9 + 40)
    expect(decodeOk(frames[0]!)).toEqual(batch)
  })

  test("the encoding is binary, not JSON", () => {
    const frame = encodeFrame([messageSamples.appendResp])
    expect(frame[0]).toBe(FRAME_VERSION)
    // header (version, count, 2 ids) 8 bytes + length + type, group, from, to, term, reject, index,
    // hintIndex, hintTerm.
    expect(frame.length).toBe(8 + 1 + 9)
  })

  test("an empty batch is a valid empty frame", () => {
    expect(decodeOk(encodeFrame([]))).toEqual([])
  })

  test("rejects a version that is not a frame, and an out-of-range node index", () => {
    const frame = encodeFrame([messageSamples.heartbeat])
    for (const bad of [0, 2])
      expect(decodeErr(Uint8Array.of(bad, ...frame.slice(1))).reason).toContain("version")
    expect(decodeErr(new Uint8Array()).reason).toContain("end of frame")

    const v = new ByteWriter()
    v.u8(FRAME_VERSION)
    v.uvarint(1)
    v.string("n1")
    const m = new ByteWriter()
    m.u8(7) // heartbeat
    m.uvarint(0) // group
    m.uvarint(0) // from = n1
    m.uvarint(5) // to = index 5: not in the table
    v.bytes(m.finish())
    expect(decodeErr(v.finish()).reason).toContain("node index")
  })

  test("legacy version 1 frames (no message lengths) still decode; an unknown type there is an error", () => {
    const legacy = (body: (w: ByteWriter) => void) => {
      const w = new ByteWriter()
      w.u8(1)
      w.uvarint(2)
      w.string("n1")
      w.string("n2")
      body(w)
      return w.finish()
    }
    const hb = messageSamples.heartbeat
    const frame = legacy((w) => {
      w.u8(7)
      w.uvarint(hb.group)
      w.uvarint(0)
      w.uvarint(1)
      w.uvarint(hb.term)
      w.uvarint(hb.commit)
      w.uvarint(hb.context)
    })
    expect(decodeOk(frame)).toEqual([{ ...hb, from: "n1", to: "n2" }])
    expect(decodeErr(legacy((w) => w.u8(200))).reason).toContain("unknown message type")
  })

  test("mixed versions: a frame from a newer node (version N+1, appended fields, new types) decodes", () => {
    // What a later release may send: a higher version byte, a new field after the known ones of
    // every message, and a message type this release does not know, in between.
    const batch = [messageSamples.heartbeat, messageSamples.appendResp]
    const current = encodeFrame(batch)
    const nodes: string[] = []
    for (const m of batch) for (const id of [m.from, m.to]) if (!nodes.includes(id)) nodes.push(id)
    const w = new ByteWriter()
    w.u8(FRAME_VERSION + 1)
    w.uvarint(nodes.length)
    for (const id of nodes) w.string(id)
    const messages = decodeOk(current)
    // Re-encode each known message with one extra trailing field, and a new type between them.
    const one = (m: Message) =>
      encodeFrame([m]).slice(1 + 1 + nodes.map((n) => 1 + n.length).reduce((a, b) => a + b, 0))
    for (const [i, m] of messages.entries()) {
      const framed = one(m) // length-prefixed message as this release writes it (same node table)
      const bodyStart = 1 // a one-byte length: the samples are small
      const body = framed.slice(bodyStart)
      const extended = new ByteWriter()
      extended.u8(body[0]!)
      for (const b of body.slice(1)) extended.u8(b)
      extended.uvarint(123456) // the new field
      extended.string("from the future")
      w.bytes(extended.finish())
      if (i === 0) {
        const unknown = new ByteWriter()
        unknown.u8(240) // a type code this release does not know
        unknown.uvarint(1)
        unknown.string("anything")
        w.bytes(unknown.finish())
      }
    }
    expect(decodeOk(w.finish())).toEqual(messages)
    expect(messages).toEqual(batch)
  })

  test("rejects overlong varints, lengths beyond the frame and invalid booleans", () => {
    expect(
      decodeErr(Uint8Array.of(FRAME_VERSION, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).reason,
    ).toMatch(/varint/)
    expect(decodeErr(Uint8Array.of(FRAME_VERSION, 1, 50, 0x41)).reason).toContain("exceeds the frame")
    const frame = encodeFrame([messageSamples.voteResp])
    const corrupt = frame.slice()
    corrupt[corrupt.length - 1] = 9 // reject flag must be 0 or 1
    expect(decodeErr(corrupt).reason).toContain("boolean")
  })

  test("property: every strict prefix of a frame decodes to a prefix of its messages or fails cleanly", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 5 }), fc.nat(), (batch, cut) => {
        const frame = encodeFrame(batch)
        const prefix = frame.slice(0, cut % frame.length)
        const decoded = decodeFrame(prefix)
        if (Either.isRight(decoded)) expect(batch.slice(0, decoded.right.length)).toEqual(decoded.right)
      }),
      { numRuns: runs },
    )
  })

  test("property: arbitrary bytes never throw, they decode or fail with a typed error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeFrame(bytes)
        if (Either.isLeft(decoded)) expect(decoded.left._tag).toBe("FrameDecodeError")
      }),
      { numRuns: runs * 5 },
    )
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.nat(255),
        (batch, at, byte) => {
          const frame = encodeFrame(batch).slice()
          frame[at % frame.length] = byte
          const decoded = decodeFrame(frame)
          if (Either.isLeft(decoded)) expect(decoded.left._tag).toBe("FrameDecodeError")
        },
      ),
      { numRuns: runs * 5 },
    )
  })

  test("decoded messages do not alias the received buffer", () => {
    const frame = encodeFrame([messageSamples.snapshot])
    const [decoded] = decodeOk(frame) as [typeof messageSamples.snapshot]
    frame.fill(0)
    expect(decoded.snapshot.data).toEqual(messageSamples.snapshot.snapshot.data)
  })
})
