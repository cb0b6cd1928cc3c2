/**
 * The in-process `Transport`: same interface and same wire encoding as NATS (frames go through
 * the binary codec, so nodes never share buffers), over an `InMemoryNetwork` that injects faults.
 *
 *   const network = new InMemoryNetwork({ seed: 7 })
 *   const n1 = yield* makeInMemoryTransport(network, "n1")
 *   // or: Layer.provide(app, InMemoryTransport.layer(network, "n1"))
 */
import { Deferred, Duration, Effect, Layer, type Scope } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { makeConnectionState } from "./connection-state.ts"
import {
  type InvalidSubjectToken,
  type NodeAlreadyAttached,
  NoResponders,
  PeerUnreachable,
  RequestTimeout,
} from "./errors.ts"
import type { Endpoint, InMemoryNetwork } from "./in-memory-network.ts"
import { makePeerSenders } from "./peer-senders.ts"
import { makeRaftInbox } from "./raft-inbox.ts"
import { replyResult } from "./reply-result.ts"
import { encodeRequest } from "./rpc-frame.ts"
import { serveRequest } from "./serve-request.ts"
import { makeStats } from "./stats.ts"
import { validateToken } from "./subjects.ts"
import { Transport, type TransportShape } from "./transport.ts"

export interface InMemoryTransportOptions {
  /** Messages held per destination before the oldest are dropped. */
  readonly queueCapacity?: number
  readonly inboxCapacity?: number
  readonly maxFrameBytes?: number
  /** Larger messages are fragmented up to this size (snapshots); beyond it they are dropped. */
  readonly maxMessageBytes?: number
}

export const defaultInMemoryOptions = {
  queueCapacity: 8192,
  inboxCapacity: 65536,
  maxFrameBytes: 1024 * 1024,
  maxMessageBytes: 512 * 1024 * 1024,
} as const

export const makeInMemoryTransport = (
  network: InMemoryNetwork,
  self: NodeId,
  options: InMemoryTransportOptions = {},
): Effect.Effect<TransportShape, InvalidSubjectToken | NodeAlreadyAttached, Scope.Scope> =>
  Effect.gen(function* () {
    yield* validateToken("node id", self)
    const config = { ...defaultInMemoryOptions, ...options }
    const scope = yield* Effect.scope
    const stats = makeStats()
    const connection = yield* makeConnectionState(network.isConnected(self) ? "connected" : "reconnecting")
    const inbox = yield* makeRaftInbox(config.inboxCapacity, stats, {
      maxMessageBytes: config.maxMessageBytes,
      maxPerSender: 4,
    })
    const services: Endpoint["services"] = new Map()
    const endpoint: Endpoint = { node: self, receiveFrame: inbox.receiveFrame, services, connection, scope }

    yield* Effect.addFinalizer(() => connection.set("closed"))
    yield* network.attach(endpoint)

    const senders = yield* makePeerSenders({
      config,
      self,
      stats,
      awaitConnected: connection.awaitConnected,
      isConnected: Effect.map(connection.ref.get, (state) => state === "connected"),
      publish: (to, frame) =>
        network.transmit(self, to, frame, scope, (target, bytes) => target.receiveFrame(bytes)),
    })

    const request: TransportShape["request"] = (to, service, payload, timeout) =>
      Effect.gen(function* () {
        if (!network.isConnected(self)) {
          return yield* new PeerUnreachable({ to, reason: `${self} is disconnected from the network` })
        }
        // As with NATS: an attached peer without the service answers at once; a cut link just times out.
        if (!network.isBlocked(self, to) && !network.reachableEndpoint(to)?.services.has(service)) {
          return yield* new NoResponders({ to, service })
        }
        const reply = yield* Deferred.make<Uint8Array>()
        const arriveAtServer = (server: Endpoint, requestBytes: Uint8Array) => {
          const run = server.services.get(service)
          if (!run) return Effect.void
          const respond = Effect.flatMap(run(requestBytes), (replyBytes) =>
            network.transmit(to, self, replyBytes, server.scope, (_, bytes) =>
              Deferred.succeed(reply, bytes),
            ),
          )
          return Effect.asVoid(Effect.forkIn(respond, server.scope))
        }
        yield* network.transmit(self, to, encodeRequest({ from: self, payload }), scope, arriveAtServer)
        const replyBytes = yield* Deferred.await(reply).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new RequestTimeout({ to, service, timeoutMillis: Duration.toMillis(Duration.decode(timeout)) }),
          }),
        )
        return yield* replyResult(to, service, replyBytes)
      })

    const serve: TransportShape["serve"] = (service, handler) =>
      Effect.gen(function* () {
        yield* validateToken("service", service)
        const run = (requestBytes: Uint8Array) => serveRequest(handler, requestBytes)
        yield* Effect.acquireRelease(
          Effect.sync(() => services.set(service, run)),
          () =>
            Effect.sync(() => {
              if (services.get(service) === run) services.delete(service)
            }),
        )
      })

    return {
      self,
      sendRaft: senders.enqueue,
      sendRaftNow: senders.enqueueNow,
      raftInbox: inbox.queue,
      setRaftSink: inbox.setSink,
      request,
      serve,
      connectionState: connection.ref.get,
      connectionChanges: connection.ref.changes,
      stats: Effect.sync(() => ({ ...stats })),
    }
  })

export const InMemoryTransport = {
  layer: (
    network: InMemoryNetwork,
    self: NodeId,
    options?: InMemoryTransportOptions,
  ): Layer.Layer<Transport, InvalidSubjectToken | NodeAlreadyAttached> =>
    Layer.scoped(Transport, makeInMemoryTransport(network, self, options)),
}
