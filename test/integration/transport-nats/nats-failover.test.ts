import { afterAll, describe, expect } from "bun:test"
import { Chunk, Effect, Fiber, Queue, Stream } from "effect"
import type { Message } from "../../../src/raft/messages.ts"
import { makeNatsTransport } from "../../../src/transport/nats.ts"
import type { TransportShape } from "../../../src/transport/transport.ts"
import { freePort, type NatsServer, startNatsServer } from "../../support/nats-server.ts"
import { eventually, itLive, receive } from "./live.ts"

const started: NatsServer[] = []
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()))
})

const heartbeat = (from: string, to: string, context: number): Message => ({
  type: "heartbeat",
  group: 1,
  from,
  to,
  term: 1,
  commit: 0,
  context,
})

const fast = { reconnectInitialMillis: 20, reconnectMaxMillis: 200, pingIntervalMillis: 500 }

/** Sends until one message gets through (routes between servers may still be forming). */
const getsThrough = (from: TransportShape, to: TransportShape, context: number) =>
  eventually(
    Effect.gen(function* () {
      yield* from.sendRaft(to.self, [heartbeat(from.self, to.self, context)])
      yield* Effect.sleep("30 millis")
      const got = Array.from(yield* Queue.takeAll(to.raftInbox))
      return got.some((m) => m.type === "heartbeat" && m.context === context)
    }),
    `${from.self} -> ${to.self} (${context})`,
  )

describe("NATS transport: start-up order and fail-over", () => {
  itLive("with waitOnFirstConnect, a node started before nats-server connects once it is up", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const url = `nats://127.0.0.1:${port}`
      const early = yield* Effect.fork(
        makeNatsTransport({
          ...fast,
          cluster: "order",
          self: "n1",
          servers: [url],
          waitOnFirstConnect: true,
        }),
      )
      yield* Effect.sleep("200 millis")
      started.push(yield* Effect.promise(() => startNatsServer({ port })))
      const n1 = yield* early.await.pipe(Effect.flatten, Effect.timeout("10 seconds"))
      const n2 = yield* makeNatsTransport({ ...fast, cluster: "order", self: "n2", servers: [url] })
      yield* n2.sendRaft("n1", [heartbeat("n2", "n1", 1)])
      expect(yield* receive(n1.raftInbox, 1)).toEqual([heartbeat("n2", "n1", 1)])
    }),
  )

  itLive(
    "with a two-server NATS cluster, killing the server in use fails over to the other",
    () =>
      Effect.gen(function* () {
        const [clientA, clientB, routeA, routeB] = yield* Effect.promise(() =>
          Promise.all([freePort(), freePort(), freePort(), freePort()]),
        )
        const clusterArgs = (own: number, peer: number) => [
          "--cluster_name",
          "lattice-test",
          "--cluster",
          `nats://127.0.0.1:${own}`,
          "--routes",
          `nats://127.0.0.1:${peer}`,
        ]
        const a = yield* Effect.promise(() =>
          startNatsServer({ port: clientA, args: clusterArgs(routeA, routeB) }),
        )
        const b = yield* Effect.promise(() =>
          startNatsServer({ port: clientB, args: clusterArgs(routeB, routeA) }),
        )
        started.push(a, b)
        const servers = [a.url, b.url]
        // n1 uses A (the one killed), n2 uses B.
        const n1 = yield* makeNatsTransport({
          ...fast,
          cluster: "fo",
          self: "n1",
          servers,
          randomizeServers: false,
        })
        const n2 = yield* makeNatsTransport({
          ...fast,
          cluster: "fo",
          self: "n2",
          servers: [b.url, a.url],
          randomizeServers: false,
        })
        const n1States = yield* n1.connectionChanges.pipe(
          Stream.takeUntil((s) => s === "reconnecting"),
          Stream.runCollect,
          Effect.fork,
        )
        yield* getsThrough(n1, n2, 1)
        yield* getsThrough(n2, n1, 2)

        yield* Effect.promise(() => a.kill())
        expect(Chunk.toArray(yield* Fiber.join(n1States))).toEqual(["connected", "reconnecting"])
        yield* getsThrough(n1, n2, 3)
        yield* getsThrough(n2, n1, 4)
        yield* n2.serve("kv", (payload) => Effect.succeed(payload))
        const reply = yield* n1.request("n2", "kv", Uint8Array.of(5), "2 seconds")
        expect(Array.from(reply)).toEqual([5])
        expect(yield* n1.connectionState).toBe("connected")
        expect(yield* n2.connectionState).toBe("connected")
      }),
    40_000,
  )
})
