/**
 * Inbound Raft traffic: reassembles fragments, decodes a received frame and offers its messages to a bounded sliding
 * queue (the oldest are dropped when the consumer falls behind, and counted). A frame that fails
 * to decode is discarded whole and counted; it never raises past the transport.
 */
import { Effect, Either, Queue } from "effect"
import type { Message } from "../raft/messages.ts"
import { isFragment, Reassembler, type ReassemblerLimits } from "./fragments.ts"
import { decodeFrame } from "./raft-codec.ts"
import type { MutableTransportStats } from "./stats.ts"

export interface RaftInbox {
  readonly queue: Queue.Queue<Message>
  readonly receiveFrame: (frame: Uint8Array) => Effect.Effect<void>
}

export const makeRaftInbox = (
  capacity: number,
  stats: MutableTransportStats,
  limits: ReassemblerLimits,
): Effect.Effect<RaftInbox> =>
  Effect.gen(function* () {
    const queue = yield* Queue.sliding<Message>(capacity)
    const reassembler = new Reassembler(limits)
    const receiveFrame = (received: Uint8Array) =>
      Effect.gen(function* () {
        stats.framesReceived++
        let frame = received
        if (isFragment(received)) {
          const assembled = reassembler.accept(received)
          if (Either.isLeft(assembled)) {
            stats.framesRejected++
            yield* Effect.logWarning("transport: discarded a bad raft fragment", assembled.left.reason)
            return
          }
          if (assembled.right === null) return
          frame = assembled.right
        }
        const decoded = decodeFrame(frame)
        if (Either.isLeft(decoded)) {
          stats.framesRejected++
          yield* Effect.logWarning("transport: discarded an undecodable raft frame", decoded.left.reason)
          return
        }
        const messages = decoded.right
        const size = yield* Queue.size(queue)
        stats.messagesDroppedInboxFull += Math.max(0, size + messages.length - capacity)
        stats.messagesReceived += messages.length
        yield* Queue.offerAll(queue, messages)
      })
    return { queue, receiveFrame }
  })
