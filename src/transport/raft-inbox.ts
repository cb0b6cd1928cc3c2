/**
 * Inbound Raft traffic: reassembles fragments, decodes a received frame and offers its messages to a bounded sliding
 * queue (the oldest are dropped when the consumer falls behind, and counted). A frame that fails
 * to decode is discarded whole and counted; it never raises past the transport.
 */
import { Effect, Either, Queue, Runtime } from "effect"
import type { Message } from "../raft/messages.ts"
import { isFragment, Reassembler, type ReassemblerLimits } from "./fragments.ts"
import { decodeFrame } from "./raft-codec.ts"
import type { MutableTransportStats } from "./stats.ts"

export interface RaftInbox {
  readonly queue: Queue.Queue<Message>
  readonly receiveFrame: (frame: Uint8Array) => Effect.Effect<void>
  /** The same, called from a plain callback (a NATS subscription): no fiber per frame. */
  readonly receiveFrameNow: (frame: Uint8Array) => void
  /** See `TransportShape.setRaftSink`. */
  readonly setSink: (sink: ((messages: readonly Message[]) => void) | null) => void
}

export const makeRaftInbox = (
  capacity: number,
  stats: MutableTransportStats,
  limits: ReassemblerLimits,
): Effect.Effect<RaftInbox> =>
  Effect.gen(function* () {
    const queue = yield* Queue.sliding<Message>(capacity)
    const runtime = yield* Effect.runtime<never>()
    const reassembler = new Reassembler(limits)
    let sink: ((messages: readonly Message[]) => void) | null = null
    const warn = (what: string, reason: string) =>
      Runtime.runFork(runtime)(Effect.logWarning(`transport: discarded ${what}`, reason))
    const receiveFrameNow = (received: Uint8Array): void => {
      stats.framesReceived++
      let frame = received
      if (isFragment(received)) {
        const assembled = reassembler.accept(received)
        if (Either.isLeft(assembled)) {
          stats.framesRejected++
          warn("a bad raft fragment", assembled.left.reason)
          return
        }
        if (assembled.right === null) return
        frame = assembled.right
      }
      const decoded = decodeFrame(frame)
      if (Either.isLeft(decoded)) {
        stats.framesRejected++
        warn("an undecodable raft frame", decoded.left.reason)
        return
      }
      const messages = decoded.right
      stats.messagesReceived += messages.length
      if (sink !== null) {
        sink(messages)
        return
      }
      for (let i = 0; i < messages.length; i++) {
        if (queue.unsafeOffer(messages[i]!)) continue
        // Full: the sliding queue makes room for each of the rest by dropping the oldest.
        const rest = messages.slice(i)
        stats.messagesDroppedInboxFull += rest.length
        Runtime.runSync(runtime)(Queue.offerAll(queue, rest))
        return
      }
    }
    return {
      queue,
      receiveFrame: (frame) => Effect.sync(() => receiveFrameNow(frame)),
      receiveFrameNow,
      setSink: (next) => {
        sink = next
      },
    }
  })
