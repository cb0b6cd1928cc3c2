/**
 * The NATS `Transport` (core NATS only, no JetStream), over `@nats-io/transport-node`.
 *
 * Subjects (see subjects.ts): Raft frames for node N go to `lattice.<cluster>.raft.<N>`; service S
 * on node N answers on `lattice.<cluster>.rpc.<N>.<S>`. The connection lives in the caller's scope
 * and is drained on close. Reconnects are unlimited with exponential backoff; while reconnecting,
 * outbound Raft messages wait in the bounded per-peer queues and requests fail fast with
 * `PeerUnreachable`.
 */
import { readFileSync } from "node:fs"
import {
  AuthorizationError,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node"
import { Duration, Effect, Layer, Runtime, type Scope } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { makeConnectionState } from "./connection-state.ts"
import {
  type InvalidSubjectToken,
  NoResponders,
  PeerUnreachable,
  RequestTimeout,
  TransportConnectFailed,
} from "./errors.ts"
import {
  type NatsSettings,
  type NatsTransportConfig,
  natsDefaults,
  reconnectDelayMillis,
} from "./nats-config.ts"
import { makePeerSenders } from "./peer-senders.ts"
import { makePrng, seedFromString } from "./prng.ts"
import { makeRaftInbox } from "./raft-inbox.ts"
import { replyResult } from "./reply-result.ts"
import { encodeRequest } from "./rpc-frame.ts"
import { serveRequest } from "./serve-request.ts"
import { makeStats } from "./stats.ts"
import { raftSubject, rpcSubject, validateToken } from "./subjects.ts"
import { type ConnectionState, Transport, type TransportShape } from "./transport.ts"

const connectOptions = (
  config: NatsTransportConfig,
  settings: NatsSettings,
  currentConnection: () => NatsConnection | undefined,
): Effect.Effect<ConnectionOptions, TransportConnectFailed> =>
  Effect.gen(function* () {
    const prng = makePrng(seedFromString(`${config.cluster}/${config.self}`))
    const options: ConnectionOptions = {
      servers: [...config.servers],
      name: `lattice-${config.cluster}-${config.self}`,
      maxReconnectAttempts: -1,
      noRandomize: !settings.randomizeServers,
      waitOnFirstConnect: settings.waitOnFirstConnect,
      timeout: settings.connectTimeoutMillis,
      pingInterval: settings.pingIntervalMillis,
      maxPingOut: 2,
      // Called before each dial (and while waiting for one): back off by the failures so far.
      reconnectDelayHandler: () => {
        const servers = currentConnection()?.getServers() ?? []
        const failures = servers.length === 0 ? 0 : Math.min(...servers.map((s) => s.reconnects))
        return reconnectDelayMillis(
          failures,
          settings.reconnectInitialMillis,
          settings.reconnectMaxMillis,
          prng.next(),
        )
      },
    }
    if (config.credsFile !== undefined) {
      const path = config.credsFile
      const creds = yield* Effect.try({
        try: () => readFileSync(path),
        catch: (error) =>
          new TransportConnectFailed({
            servers: [...config.servers],
            reason: `cannot read the NATS credentials file ${path}: ${String(error)}`,
            hint: "check [network] nats_credentials: the file must exist and be readable by the lattice user",
          }),
      })
      options.authenticator = credsAuthenticator(new Uint8Array(creds))
    }
    return options
  })

const connectFailed = (config: NatsTransportConfig, error: unknown) => {
  const reason = error instanceof Error ? error.message : String(error)
  const refused = error instanceof AuthorizationError || /authori[sz]ation|authentication/i.test(reason)
  return new TransportConnectFailed({
    servers: [...config.servers],
    reason,
    hint: refused
      ? `the NATS server refused this node's credentials: check the credentials file (${config.credsFile ?? "none given"})`
      : `is nats-server running and reachable at ${config.servers.join(", ")}? (start it, or pass --nats URL)`,
  })
}

const statusToState = (type: string): ConnectionState | null => {
  switch (type) {
    case "disconnect":
    case "reconnecting":
    case "staleConnection":
      return "reconnecting"
    case "reconnect":
      return "connected"
    case "close":
      return "closed"
    default:
      return null
  }
}

export const makeNatsTransport = (
  config: NatsTransportConfig,
): Effect.Effect<TransportShape, TransportConnectFailed | InvalidSubjectToken, Scope.Scope> =>
  Effect.gen(function* () {
    const settings: NatsSettings = { ...natsDefaults, ...definedOnly(config) }
    const cluster = yield* validateToken("cluster", config.cluster)
    const self = yield* validateToken("node id", config.self)
    const runtime = yield* Effect.runtime<never>()
    const stats = makeStats()

    let connection: NatsConnection | undefined
    const options = yield* connectOptions(config, settings, () => connection)
    const nc = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => connect(options), catch: (error) => connectFailed(config, error) }),
      (nc) =>
        Effect.tryPromise(() => nc.drain()).pipe(
          Effect.timeout(Duration.millis(settings.drainTimeoutMillis)),
          Effect.catchAll(() => Effect.promise(() => nc.close().catch(() => undefined))),
        ),
    )
    connection = nc
    const maxFrameBytes = Math.min(settings.maxFrameBytes, nc.info?.max_payload ?? settings.maxFrameBytes)

    // A round trip to the server: once it completes, subscriptions made before it are live there.
    // If the link is down, the client re-subscribes on reconnect anyway, so failure is ignored.
    const registered = Effect.tryPromise(() => nc.flush()).pipe(
      Effect.timeout(Duration.millis(settings.connectTimeoutMillis)),
      Effect.ignore,
    )

    const state = yield* makeConnectionState("connected")
    yield* Effect.addFinalizer(() => state.set("closed"))
    // A plain loop rather than an interruptible Stream: interrupting the status iterator blocks
    // until the next status event. The loop ends by itself when the connection closes.
    const watchStatus = async () => {
      for await (const status of nc.status()) {
        const next = statusToState(status.type)
        if (next !== null) Runtime.runSync(runtime)(state.set(next))
      }
    }
    watchStatus().catch(() => undefined)

    const inbox = yield* makeRaftInbox(settings.inboxCapacity, stats, {
      maxMessageBytes: settings.maxMessageBytes,
      maxPerSender: 4,
    })
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        nc.subscribe(raftSubject(cluster, self), {
          callback: (error, msg) => {
            if (error === null) inbox.receiveFrameNow(msg.data)
          },
        }),
      ),
      (subscription) => Effect.sync(() => subscription.unsubscribe()),
    )
    yield* registered

    const isConnected = Effect.map(state.ref.get, (s) => s === "connected")
    const publishNow = (to: NodeId, frame: Uint8Array): void => {
      try {
        nc.publish(raftSubject(cluster, to), frame)
      } catch {
        // Closed or draining: the frame is lost, which Raft tolerates.
      }
    }
    const senders = yield* makePeerSenders({
      config: {
        queueCapacity: settings.queueCapacity,
        maxFrameBytes,
        maxMessageBytes: settings.maxMessageBytes,
      },
      self,
      stats,
      awaitConnected: state.awaitConnected,
      isConnected,
      publish: (to, frame) => Effect.sync(() => publishNow(to, frame)),
      now: { publish: publishNow, isConnected: () => state.current() === "connected" },
    })

    const request: TransportShape["request"] = (to, service, payload, timeout) =>
      Effect.gen(function* () {
        if (!(yield* isConnected)) {
          return yield* new PeerUnreachable({ to, reason: `NATS connection is ${yield* state.ref.get}` })
        }
        const timeoutMillis = Math.max(1, Math.round(Duration.toMillis(Duration.decode(timeout))))
        const reply = yield* Effect.tryPromise({
          try: () =>
            nc.request(rpcSubject(cluster, to, service), encodeRequest({ from: self, payload }), {
              timeout: timeoutMillis,
            }),
          catch: (error) => {
            if (error instanceof TimeoutError) return new RequestTimeout({ to, service, timeoutMillis })
            if (
              error instanceof NoRespondersError ||
              (error instanceof RequestError && error.isNoResponders())
            ) {
              return new NoResponders({ to, service })
            }
            return new PeerUnreachable({ to, reason: error instanceof Error ? error.message : String(error) })
          },
        })
        return yield* replyResult(to, service, reply.data)
      })

    const serve: TransportShape["serve"] = (service, handler) =>
      Effect.gen(function* () {
        yield* validateToken("service", service)
        yield* Effect.acquireRelease(
          Effect.sync(() =>
            nc.subscribe(rpcSubject(cluster, self, service), {
              callback: (error, msg) => {
                if (error !== null || !msg.reply) return
                Runtime.runFork(runtime)(
                  Effect.flatMap(serveRequest(handler, msg.data), (reply) =>
                    Effect.sync(() => {
                      try {
                        msg.respond(reply)
                      } catch {
                        // The connection closed under us: the caller will time out.
                      }
                    }),
                  ),
                )
              },
            }),
          ),
          (subscription) => Effect.sync(() => subscription.unsubscribe()),
        )
        yield* registered
      })

    return {
      self,
      sendRaft: senders.enqueue,
      sendRaftNow: senders.enqueueNow,
      raftInbox: inbox.queue,
      setRaftSink: inbox.setSink,
      request,
      serve,
      connectionState: state.ref.get,
      connectionChanges: state.ref.changes,
      stats: Effect.sync(() => ({ ...stats })),
    }
  })

/** Drops keys whose value is undefined, so they do not override defaults. */
const definedOnly = <A extends object>(value: A): Partial<A> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<A>

export const NatsTransport = {
  layer: (
    config: NatsTransportConfig,
  ): Layer.Layer<Transport, TransportConnectFailed | InvalidSubjectToken> =>
    Layer.scoped(Transport, makeNatsTransport(config)),
}
