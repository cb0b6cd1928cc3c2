import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import fc from "fast-check"
import { fragmentFrame, isFragment, Reassembler } from "../../../src/transport/fragments.ts"
import { decodeFrame, encodeFrame, encodeFrames } from "../../../src/transport/raft-codec.ts"
import { heartbeat, messageSamples } from "./message-samples.ts"

const limits = { maxMessageBytes: 1 << 24, maxPerSender: 4 }

const accept = (r: Reassembler, fragment: Uint8Array) => {
  const result = r.accept(fragment)
  if (Either.isLeft(result)) throw new Error(result.left.reason)
  return result.right
}

describe("fragments", () => {
  test("property: any frame split into fragments, shuffled and duplicated, reassembles exactly once", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 200, max: 1200 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.nat(),
        (frame, maxFrameBytes, messageId, seed) => {
          const pieces = fragmentFrame(frame, "n1", messageId, maxFrameBytes)
          for (const piece of pieces) {
            expect(piece.length).toBeLessThanOrEqual(maxFrameBytes)
            expect(isFragment(piece)).toBe(true)
          }
          // Deterministic shuffle plus a duplicate of the first piece, delivered before the rest.
          const order = pieces.map((p, i) => ({ p, k: (i * 7919 + seed) % 104729 })).sort((a, b) => a.k - b.k)
          const delivery = [order[0]!.p, ...order.map((o) => o.p)]
          const r = new Reassembler(limits)
          const completed = delivery.map((p) => accept(r, p)).filter((x) => x !== null)
          expect(completed.length).toBeGreaterThanOrEqual(1)
          expect(completed[0]).toEqual(frame)
          if (pieces.length > 1) expect(completed.length).toBe(1)
        },
      ),
      { numRuns: 100 },
    )
  })

  test("encodeFrames fragments an oversize message in place, keeping the order of the batch", () => {
    const big = messageSamples.snapshot
    const batch = [heartbeat(1, "n1", "n2"), big, heartbeat(2, "n1", "n2")]
    let id = 0
    const { frames, oversize } = encodeFrames(batch, 300, (frame) => fragmentFrame(frame, "n1", id++, 300))
    expect(oversize).toBe(0)
    const r = new Reassembler(limits)
    const received = frames.flatMap((frame) => {
      const whole = isFragment(frame) ? accept(r, frame) : frame
      if (whole === null) return []
      return Either.getOrThrow(decodeFrame(whole))
    })
    expect(received).toEqual(batch)
    expect(frames.length).toBeGreaterThan(3)
  })

  test("a fragmenter that refuses leaves the message counted as oversize", () => {
    const { frames, oversize } = encodeFrames([messageSamples.snapshot], 300, () => null)
    expect(frames).toEqual([])
    expect(oversize).toBe(1)
  })

  test("keeps a bounded number of assemblies per sender, forgetting the oldest", () => {
    const r = new Reassembler({ maxMessageBytes: 1 << 20, maxPerSender: 2 })
    const frame = encodeFrame([messageSamples.snapshot])
    const byId = [0, 1, 2].map((id) => fragmentFrame(frame, "n1", id, 400))
    expect(accept(r, byId[0]![0]!)).toBeNull()
    expect(accept(r, byId[1]![0]!)).toBeNull()
    expect(accept(r, byId[2]![0]!)).toBeNull() // forgets message 0
    expect(r.pending).toBe(2)
    // The rest of message 0 starts a new, incomplete assembly: message 0 never completes.
    const rest0 = byId[0]!.slice(1).map((p) => accept(r, p))
    expect(rest0.every((x) => x === null)).toBe(true)
    // Another sender is independent.
    const other = fragmentFrame(frame, "n2", 0, 400).map((p) => accept(r, p))
    expect(other.at(-1)).toEqual(frame)
  })

  test("rejects corrupt headers, inconsistent pieces and messages over the size limit", () => {
    const frame = new Uint8Array(1000).fill(3)
    const pieces = fragmentFrame(frame, "n1", 5, 400)
    const small = new Reassembler({ maxMessageBytes: 999, maxPerSender: 2 })
    expect(Either.isLeft(small.accept(pieces[0]!))).toBe(true)

    const r = new Reassembler(limits)
    const truncated = pieces[0]!.slice(0, pieces[0]!.length - 1)
    expect(Either.isLeft(r.accept(truncated))).toBe(true)
    expect(Either.isLeft(r.accept(Uint8Array.of(2)))).toBe(true)
    // Same message id, different total size: refused.
    expect(accept(r, pieces[0]!)).toBeNull()
    const liar = fragmentFrame(new Uint8Array(1200), "n1", 5, 400)[1]!
    expect(Either.isLeft(r.accept(liar))).toBe(true)
    expect(() => fragmentFrame(frame, "n1", 1, 100)).toThrow(RangeError)
  })
})
