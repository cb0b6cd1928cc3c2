/**
 * The `Transport` service: how a node's Raft replicas and request forwarding reach other nodes.
 * Two implementations share this interface: NATS (`nats.ts`) for real nodes and an in-process
 * network with fault injection (`in-memory.ts`) for `lattice dev`, the embedded SDK and tests.
 */
import { Context, type Duration, type Effect, type Queue, type Scope, type Stream } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import type { Message } from "../raft/messages.ts"
import type { InvalidSubjectToken, RequestError } from "./errors.ts"
import type { TransportStats } from "./stats.ts"

/** `connected`: traffic flows. `reconnecting`: outbound is held in bounded queues. `closed`: shut down. */
export type ConnectionState = "connected" | "reconnecting" | "closed"

/**
 * Serves one request-reply service. Application-level errors belong in the reply payload; a
 * failure (or defect) of the handler reaches the caller as `RemoteHandlerFailed`.
 */
export type RequestHandler = (payload: Uint8Array, from: NodeId) => Effect.Effect<Uint8Array, unknown>

export interface TransportShape {
  readonly self: NodeId
  /**
   * Fire-and-forget: queues `messages` for `to` and returns at once. Messages queued for the same
   * node are sent together in as few frames as fit (one frame may carry many groups). When the
   * per-peer queue is full the oldest messages are dropped and counted: Raft tolerates loss.
   */
  readonly sendRaft: (to: NodeId, messages: readonly Message[]) => Effect.Effect<void>
  /** `sendRaft` as a plain call, for a replica that sends from a callback (its durability notice). */
  readonly sendRaftNow: (to: NodeId, messages: readonly Message[]) => void
  /** Every Raft message received by this node, for all groups, in arrival order (bounded; drops oldest). */
  readonly raftInbox: Queue.Dequeue<Message>
  /**
   * Hands each received frame's messages to `sink` at once, as a plain call from the link's
   * callback, instead of queueing them in `raftInbox` (null: queue them again). The node's router
   * uses it: a fiber wake-up per received frame cost more than routing the frame.
   */
  readonly setRaftSink: (sink: ((messages: readonly Message[]) => void) | null) => void
  /** Sends `payload` to `service` on node `to` and waits for the reply. */
  readonly request: (
    to: NodeId,
    service: string,
    payload: Uint8Array,
    timeout: Duration.DurationInput,
  ) => Effect.Effect<Uint8Array, RequestError>
  /** Registers `handler` for `service` on this node until the enclosing scope closes; once it
   * returns, requests from other nodes reach the handler. */
  readonly serve: (
    service: string,
    handler: RequestHandler,
  ) => Effect.Effect<void, InvalidSubjectToken, Scope.Scope>
  readonly connectionState: Effect.Effect<ConnectionState>
  /** The current state, then every change. */
  readonly connectionChanges: Stream.Stream<ConnectionState>
  readonly stats: Effect.Effect<TransportStats>
}

export class Transport extends Context.Tag("lattice/Transport")<Transport, TransportShape>() {}
