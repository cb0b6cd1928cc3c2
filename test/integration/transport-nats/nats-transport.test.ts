import { describe, expect } from "bun:test"
import { connect } from "@nats-io/transport-node"
import { Effect, Either, Queue } from "effect"
import type { Message } from "../../../src/raft/messages.ts"
import { makeNatsTransport } from "../../../src/transport/nats.ts"
import type { NatsTransportConfig } from "../../../src/transport/nats-config.ts"
import { raftSubject } from "../../../src/transport/subjects.ts"
import { freePort, useNatsServer } from "../../support/nats-server.ts"
import { eventually, itLive, receive } from "./live.ts"

const nats = useNatsServer()

const heartbeat = (group: number, from: string, to: string, context = 0): Message => ({
  type: "heartbeat",
  group,
  from,
  to,
  term: 1,
  commit: group,
  context,
})

const bytes = (value: string) => new TextEncoder().encode(value)
const text = (value: Uint8Array) => new TextDecoder().decode(value)

let clusterCounter = 0
/** Each test gets its own cluster name, so tests never see each other's subjects. */
const transports = (ids: readonly string[], extra: Partial<NatsTransportConfig> = {}) => {
  const cluster = `t${++clusterCounter}`
  return Effect.forEach(ids, (self) =>
    makeNatsTransport({
      cluster,
      self,
      servers: [nats().url],
      reconnectInitialMillis: 20,
      reconnectMaxMillis: 200,
      pingIntervalMillis: 1000,
      ...extra,
    }),
  ).pipe(Effect.map((list) => ({ cluster, nodes: list })))
}

describe("NATS transport against a real nats-server", () => {
  itLive("three nodes exchange raft batches for many groups, batched per destination", () =>
    Effect.gen(function* () {
      const { nodes } = yield* transports(["n1", "n2", "n3"])
      const [n1, n2, n3] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
      const toN2 = Array.from({ length: 200 }, (_, g) => heartbeat(g, "n1", "n2"))
      const toN3 = Array.from({ length: 5 }, (_, g) => heartbeat(g, "n1", "n3"))
      yield* n1.sendRaft("n2", toN2)
      yield* n1.sendRaft("n3", toN3)
      expect(yield* receive(n2.raftInbox, 200)).toEqual(toN2)
      expect(yield* receive(n3.raftInbox, 5)).toEqual(toN3)
      expect((yield* n1.stats).framesSent).toBe(2)
      yield* n3.sendRaft("n1", [heartbeat(9, "n3", "n1", 42)])
      expect(yield* receive(n1.raftInbox, 1)).toEqual([heartbeat(9, "n3", "n1", 42)])
      expect(yield* n1.connectionState).toBe("connected")
    }),
  )

  itLive("request-reply: replies, NoResponders, RequestTimeout and RemoteHandlerFailed", () =>
    Effect.gen(function* () {
      const { nodes } = yield* transports(["n1", "n2", "n3"])
      const [n1, n2, n3] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
      yield* n2.serve("kv", (payload, from) => Effect.succeed(bytes(`${from}->n2:${text(payload)}`)))
      yield* n2.serve("stuck", () => Effect.never)
      yield* n2.serve("broken", () => Effect.fail("no leader"))
      expect(text(yield* n1.request("n2", "kv", bytes("put k v"), "2 seconds"))).toBe("n1->n2:put k v")
      expect(text(yield* n3.request("n2", "kv", bytes("get k"), "2 seconds"))).toBe("n3->n2:get k")
      expect((yield* Effect.flip(n1.request("n3", "kv", bytes("x"), "2 seconds")))._tag).toBe("NoResponders")
      expect((yield* Effect.flip(n1.request("n9", "kv", bytes("x"), "2 seconds")))._tag).toBe("NoResponders")
      const timeout = yield* Effect.flip(n1.request("n2", "stuck", bytes("x"), "150 millis"))
      expect(timeout).toMatchObject({
        _tag: "RequestTimeout",
        to: "n2",
        service: "stuck",
        timeoutMillis: 150,
      })
      const failed = yield* Effect.flip(n1.request("n2", "broken", bytes("x"), "2 seconds"))
      expect(failed._tag).toBe("RemoteHandlerFailed")
      expect(failed.message).toContain("no leader")
    }),
  )

  itLive("a 3 MiB snapshot message crosses a server with a 1 MiB max_payload, in fragments", () =>
    Effect.gen(function* () {
      const { nodes } = yield* transports(["n1", "n2"])
      const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
      const data = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 31) % 256)
      const snapshot: Message = {
        type: "snapshot",
        group: 4,
        from: "n1",
        to: "n2",
        term: 9,
        snapshot: {
          meta: { index: 5000, term: 8, conf: { voters: ["n1", "n2"], learners: [], votersOutgoing: [] } },
          data,
        },
      }
      yield* n1.sendRaft("n2", [heartbeat(1, "n1", "n2"), snapshot, heartbeat(2, "n1", "n2")])
      expect(yield* receive(n2.raftInbox, 3)).toEqual([
        heartbeat(1, "n1", "n2"),
        snapshot,
        heartbeat(2, "n1", "n2"),
      ])
      const stats = yield* n1.stats
      expect(stats.messagesFragmented).toBe(1)
      expect(stats.framesSent).toBeGreaterThanOrEqual(5)
    }),
  )

  itLive("a garbage frame on a node's raft subject is counted and discarded; traffic continues", () =>
    Effect.gen(function* () {
      const { cluster, nodes } = yield* transports(["n1", "n2"])
      const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
      const raw = yield* Effect.acquireRelease(
        Effect.promise(() => connect({ servers: nats().url })),
        (nc) => Effect.promise(() => nc.close()),
      )
      raw.publish(raftSubject(cluster, "n2"), Uint8Array.of(1, 200, 7, 7))
      raw.publish(raftSubject(cluster, "n2"), bytes('{"type":"heartbeat"}'))
      yield* Effect.promise(() => raw.flush())
      yield* eventually(
        Effect.map(n2.stats, (s) => s.framesRejected === 2),
        "two rejected frames",
      )
      yield* n1.sendRaft("n2", [heartbeat(1, "n1", "n2")])
      expect(yield* receive(n2.raftInbox, 1)).toEqual([heartbeat(1, "n1", "n2")])
    }),
  )

  itLive(
    "kill -9 and restart of nats-server: transports report reconnecting, then reconnect and traffic resumes",
    () =>
      Effect.gen(function* () {
        const { nodes } = yield* transports(["n1", "n2", "n3"], { queueCapacity: 16 })
        const [n1, n2, n3] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
        yield* n2.serve("kv", (payload) => Effect.succeed(payload))
        expect(text(yield* n1.request("n2", "kv", bytes("before"), "2 seconds"))).toBe("before")

        yield* Effect.promise(() => nats().kill())
        for (const node of nodes) {
          yield* eventually(
            Effect.map(node.connectionState, (s) => s === "reconnecting"),
            `${node.self} to notice the outage`,
          )
        }
        const offline = yield* Effect.flip(n1.request("n2", "kv", bytes("during"), "1 second"))
        expect(offline._tag).toBe("PeerUnreachable")
        // Queued while reconnecting: bounded to 16 per peer, the oldest dropped and counted.
        yield* n1.sendRaft(
          "n3",
          Array.from({ length: 40 }, (_, g) => heartbeat(g, "n1", "n3")),
        )
        expect((yield* n1.stats).messagesDroppedQueueFull).toBe(24)

        yield* Effect.promise(() => nats().restart())
        for (const node of nodes) {
          yield* eventually(
            Effect.map(node.connectionState, (s) => s === "connected"),
            `${node.self} to reconnect`,
          )
        }
        // Requests work again once n2's subscriptions are back (NoResponders until then).
        yield* eventually(
          Effect.map(Effect.either(n1.request("n2", "kv", bytes("after"), "1 second")), (r) =>
            Either.isRight(r) ? text(r.right) === "after" : false,
          ),
          "requests to succeed after the restart",
        )
        // Raft traffic flows in every direction after the restart.
        for (const [from, to] of [
          [n1, n2],
          [n2, n3],
          [n3, n1],
        ] as const) {
          yield* Queue.takeAll(to.raftInbox)
          yield* eventually(
            Effect.gen(function* () {
              yield* from.sendRaft(to.self, [heartbeat(7, from.self, to.self, 1)])
              yield* Effect.sleep("20 millis")
              const got = yield* Queue.takeAll(to.raftInbox)
              return Array.from(got).some((m) => m.group === 7 && m.from === from.self)
            }),
            `${from.self} -> ${to.self} after the restart`,
          )
        }
      }),
    40_000,
  )

  itLive("with several server URLs, a dead one is skipped", () =>
    Effect.gen(function* () {
      const dead = `nats://127.0.0.1:${yield* Effect.promise(freePort)}`
      const { nodes } = yield* transports(["n1", "n2"], { servers: [dead, nats().url] })
      const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
      yield* n1.sendRaft("n2", [heartbeat(3, "n1", "n2")])
      expect(yield* receive(n2.raftInbox, 1)).toEqual([heartbeat(3, "n1", "n2")])
    }),
  )

  itLive("an unreachable server or unreadable credentials fail with TransportConnectFailed and a hint", () =>
    Effect.gen(function* () {
      const dead = `nats://127.0.0.1:${yield* Effect.promise(freePort)}`
      const unreachable = yield* Effect.flip(
        Effect.scoped(
          makeNatsTransport({ cluster: "c", self: "n1", servers: [dead], connectTimeoutMillis: 500 }),
        ),
      )
      expect(unreachable._tag).toBe("TransportConnectFailed")
      if (unreachable._tag === "TransportConnectFailed") expect(unreachable.hint).toContain(dead)

      const creds = yield* Effect.flip(
        Effect.scoped(
          makeNatsTransport({
            cluster: "c",
            self: "n1",
            servers: [nats().url],
            credsFile: "/nonexistent/x.creds",
          }),
        ),
      )
      expect(creds._tag).toBe("TransportConnectFailed")
      if (creds._tag === "TransportConnectFailed") expect(creds.reason).toContain("/nonexistent/x.creds")

      const badId = yield* Effect.flip(
        Effect.scoped(makeNatsTransport({ cluster: "c", self: "n.1", servers: [nats().url] })),
      )
      expect(badId._tag).toBe("InvalidSubjectToken")
    }),
  )

  itLive("closing the scope flushes queued messages, drains and reports closed", () =>
    Effect.gen(function* () {
      const { nodes } = yield* transports(["n2"])
      const n2 = nodes[0]!
      const cluster = `t${clusterCounter}`
      const states = yield* Effect.scoped(
        Effect.gen(function* () {
          const n1 = yield* makeNatsTransport({ cluster, self: "n1", servers: [nats().url] })
          yield* n1.sendRaft("n2", [heartbeat(1, "n1", "n2")])
          return n1
        }),
      )
      expect(yield* states.connectionState).toBe("closed")
      expect(yield* receive(n2.raftInbox, 1)).toEqual([heartbeat(1, "n1", "n2")])
    }),
  )
})
