/**
 * Outbound Raft traffic, shared by both transports: one bounded drop-oldest queue and one
 * sender fiber per destination node. `enqueue` never blocks. The sender waits until the link
 * is connected, takes everything queued for its peer and sends it in as few frames as fit,
 * so messages for many groups that pile up while a frame is in flight leave together.
 *
 * A link that can publish synchronously (NATS: `publishNow`) skips the fiber while connected:
 * the first enqueue of a turn schedules one flush of the peer's queue as a microtask, after
 * every fiber of the turn has had its say. A wake-up of a fiber costs tens of µs here, and a
 * replication round has several per peer. The fiber still waits out a disconnected link.
 */
import { Effect, Runtime, type Scope } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import type { Message } from "../raft/messages.ts"
import { repeatForever } from "../repeat-forever.ts"
import { DropOldestQueue } from "./drop-oldest-queue.ts"
import { fragmentFrame } from "./fragments.ts"
import { encodeFrames } from "./raft-codec.ts"
import type { MutableTransportStats } from "./stats.ts"

export interface PeerSendersConfig {
  /** Messages held per peer while it is slow or the link is down. */
  readonly queueCapacity: number
  /** Upper bound of one encoded frame (NATS max_payload). */
  readonly maxFrameBytes: number
  /** Larger messages are sent in fragments, up to this size; beyond it they are dropped. */
  readonly maxMessageBytes: number
}

export interface PeerSenders {
  readonly enqueue: (to: NodeId, messages: readonly Message[]) => Effect.Effect<void>
  /** `enqueue` as a plain call. */
  readonly enqueueNow: (to: NodeId, messages: readonly Message[]) => void
}

interface Peer {
  readonly queue: DropOldestQueue<Message>
  readonly wake: Effect.Latch
  /** Mirrors the latch, so a burst of enqueues opens it once instead of on every call. */
  awake: boolean
  /** A microtask flush is scheduled (the `now` path). */
  flushing: boolean
}

export const makePeerSenders = (options: {
  readonly config: PeerSendersConfig
  readonly self: NodeId
  readonly stats: MutableTransportStats
  readonly awaitConnected: Effect.Effect<void>
  readonly isConnected: Effect.Effect<boolean>
  /** Hands one encoded frame to the link. Must not fail: a lost frame is a lost frame. */
  readonly publish: (to: NodeId, frame: Uint8Array) => Effect.Effect<void>
  /** `publish` as a plain call, with whether the link is connected now: enables the microtask flush. */
  readonly now?: {
    readonly publish: (to: NodeId, frame: Uint8Array) => void
    readonly isConnected: () => boolean
  }
}): Effect.Effect<PeerSenders, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { config, self, stats, awaitConnected, isConnected, publish } = options
    let nextFragmentedMessageId = 0
    const fragment = (frame: Uint8Array): Uint8Array[] | null => {
      if (frame.length > config.maxMessageBytes) return null
      stats.messagesFragmented++
      return fragmentFrame(frame, self, nextFragmentedMessageId++, config.maxFrameBytes)
    }
    const scope = yield* Effect.scope
    const peers = new Map<NodeId, Peer>()

    /** Takes the peer's queue and encodes it into frames (empty when nothing is queued). */
    const takeFrames = (peer: Peer): Uint8Array[] => {
      const messages = peer.queue.takeAll()
      if (messages.length === 0) return []
      const { frames, oversize } = encodeFrames(messages, config.maxFrameBytes, fragment)
      stats.messagesDroppedOversize += oversize
      stats.messagesSent += messages.length - oversize
      stats.framesSent += frames.length
      return frames
    }
    const sendQueued = (to: NodeId, peer: Peer) =>
      Effect.suspend(() => Effect.forEach(takeFrames(peer), (frame) => publish(to, frame), { discard: true }))

    const now = options.now
    const flushNow = (to: NodeId, peer: Peer): void => {
      peer.flushing = false
      if (now === undefined) return
      // Disconnected meanwhile: the fiber waits for the link and sends what is queued then.
      if (!now.isConnected()) {
        wakeFiber(peer)
        return
      }
      for (const frame of takeFrames(peer)) now.publish(to, frame)
    }
    const wakeFiber = (peer: Peer): void => {
      if (peer.awake) return
      peer.awake = true
      peer.wake.unsafeOpen()
    }

    const sendLoop = (to: NodeId, peer: Peer) =>
      Effect.gen(function* () {
        yield* peer.wake.await
        yield* awaitConnected
        // Close before draining: an enqueue after this point reopens the gate for the next round.
        peer.awake = false
        yield* peer.wake.close
        yield* sendQueued(to, peer)
      }).pipe(repeatForever)

    // On close, hand what is still queued to the link (best effort, only if connected), so a
    // short-lived transport does not silently lose its last messages.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(peers, ([to, peer]) => sendQueued(to, peer), { discard: true }).pipe(
        Effect.whenEffect(isConnected),
      ),
    )

    const runtime = yield* Effect.runtime<never>()
    const peerFor = (to: NodeId): Peer => {
      const existing = peers.get(to)
      if (existing) return existing
      const peer: Peer = {
        queue: new DropOldestQueue(config.queueCapacity),
        wake: Effect.unsafeMakeLatch(false),
        awake: false,
        flushing: false,
      }
      peers.set(to, peer)
      // Once per peer: its sender fiber, in the senders' scope.
      Runtime.runSync(runtime)(Effect.forkIn(sendLoop(to, peer), scope))
      return peer
    }

    const enqueueNow = (to: NodeId, messages: readonly Message[]): void => {
      if (messages.length === 0) return
      const peer = peerFor(to)
      stats.messagesDroppedQueueFull += peer.queue.pushAll(messages)
      if (now !== undefined && !peer.awake && now.isConnected()) {
        if (peer.flushing) return
        peer.flushing = true
        queueMicrotask(() => flushNow(to, peer))
        return
      }
      wakeFiber(peer)
    }

    return {
      enqueue: (to, messages) => Effect.sync(() => enqueueNow(to, messages)),
      enqueueNow,
    }
  })
