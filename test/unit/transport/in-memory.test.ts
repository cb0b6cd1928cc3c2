import { describe, expect } from "bun:test"
import { Chunk, Effect, Either, Exit, Fiber, Queue, Scope, Stream, TestClock } from "effect"
import type { Message } from "../../../src/raft/messages.ts"
import { InMemoryTransport, makeInMemoryTransport } from "../../../src/transport/in-memory.ts"
import { InMemoryNetwork } from "../../../src/transport/in-memory-network.ts"
import { encodeFrame } from "../../../src/transport/raft-codec.ts"
import { Transport } from "../../../src/transport/transport.ts"
import { itEffect } from "../../support/effect-test.ts"
import { bytes, drain, settle, takeN, text, yieldUntil } from "./helpers.ts"
import { heartbeat, messageSamples } from "./message-samples.ts"

const cluster = (network: InMemoryNetwork, ids: readonly string[] = ["n1", "n2", "n3"]) =>
  Effect.forEach(ids, (id) => makeInMemoryTransport(network, id))

const beats = (from: string, to: string, groups: number, context = 0): Message[] =>
  Array.from({ length: groups }, (_, g) => heartbeat(g, from, to, context))

describe("in-memory transport: raft delivery", () => {
  itEffect("delivers a batch for many groups to the right node only, in order", () =>
    Effect.gen(function* () {
      const [n1, n2, n3] = yield* cluster(new InMemoryNetwork())
      const batch = [...beats("n1", "n2", 3), messageSamples.append]
      yield* n1!.sendRaft("n2", batch)
      expect(yield* takeN(n2!.raftInbox, 4)).toEqual(batch)
      yield* settle
      expect(yield* drain(n3!.raftInbox)).toEqual([])
      expect(yield* drain(n1!.raftInbox)).toEqual([])
    }),
  )

  itEffect("batches messages queued for one node into one frame", () =>
    Effect.gen(function* () {
      const [n1, n2] = yield* cluster(new InMemoryNetwork())
      // 50 separate calls before the sender fiber runs: they leave together.
      for (let g = 0; g < 50; g++) yield* n1!.sendRaft("n2", [heartbeat(g, "n1", "n2")])
      const received = yield* takeN(n2!.raftInbox, 50)
      expect(received.map((m) => m.group)).toEqual(Array.from({ length: 50 }, (_, g) => g))
      const stats = yield* n1!.stats
      expect(stats.framesSent).toBe(1)
      expect(stats.messagesSent).toBe(50)
      expect((yield* n2!.stats).framesReceived).toBe(1)
    }),
  )

  itEffect("splits a batch larger than the frame limit into several frames", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const n1 = yield* makeInMemoryTransport(network, "n1", { maxFrameBytes: 200 })
      const n2 = yield* makeInMemoryTransport(network, "n2")
      yield* n1.sendRaft("n2", beats("n1", "n2", 100))
      expect((yield* takeN(n2.raftInbox, 100)).length).toBe(100)
      expect((yield* n1.stats).framesSent).toBeGreaterThan(3)
    }),
  )

  itEffect(
    "a message larger than a frame (a snapshot) arrives whole, in order, even with reordering delays",
    () =>
      Effect.gen(function* () {
        const network = new InMemoryNetwork({ seed: 3, faults: { minDelayMillis: 0, maxDelayMillis: 20 } })
        const n1 = yield* makeInMemoryTransport(network, "n1", { maxFrameBytes: 4096 })
        const n2 = yield* makeInMemoryTransport(network, "n2")
        const data = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251)
        const snapshot: Message = {
          ...messageSamples.snapshot,
          snapshot: { ...messageSamples.snapshot.snapshot, data },
        }
        yield* n1.sendRaft("n2", [snapshot])
        yield* yieldUntil(Effect.map(n1.stats, (s) => s.messagesFragmented === 1))
        yield* TestClock.adjust("20 millis")
        expect(yield* takeN(n2.raftInbox, 1)).toEqual([snapshot])
        expect((yield* n1.stats).framesSent).toBeGreaterThan(20)
      }),
  )

  itEffect("a message beyond maxMessageBytes is dropped and counted", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const n1 = yield* makeInMemoryTransport(network, "n1", { maxFrameBytes: 512, maxMessageBytes: 900 })
      yield* makeInMemoryTransport(network, "n2")
      yield* n1.sendRaft("n2", [messageSamples.snapshot, heartbeat(1, "n1", "n2")])
      yield* yieldUntil(Effect.map(n1.stats, (s) => s.framesSent === 1))
      expect((yield* n1.stats).messagesDroppedOversize).toBe(1)
    }),
  )

  itEffect("sending to a node that is not attached loses the messages without failing", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [n1] = yield* cluster(network, ["n1"])
      yield* n1!.sendRaft("ghost", beats("n1", "ghost", 2))
      yield* yieldUntil(Effect.map(n1!.stats, (s) => s.framesSent === 1))
      expect(network.stats().framesDropped).toBe(1)
    }),
  )

  itEffect("a node can send to itself", () =>
    Effect.gen(function* () {
      const [n1] = yield* cluster(new InMemoryNetwork(), ["n1"])
      yield* n1!.sendRaft("n1", beats("n1", "n1", 1))
      expect(yield* takeN(n1!.raftInbox, 1)).toEqual(beats("n1", "n1", 1))
    }),
  )

  itEffect("an undecodable frame is discarded and counted, never raised", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [, n2] = yield* cluster(network, ["n1", "n2"])
      const scope = yield* Effect.scope
      const garbage = Uint8Array.of(1, 9, 9, 9)
      yield* network.transmit("n1", "n2", garbage, scope, (endpoint, frame) => endpoint.receiveFrame(frame))
      yield* network.transmit("n1", "n2", encodeFrame(beats("n1", "n2", 1)), scope, (endpoint, frame) =>
        endpoint.receiveFrame(frame),
      )
      expect(yield* takeN(n2!.raftInbox, 1)).toEqual(beats("n1", "n2", 1))
      const stats = yield* n2!.stats
      expect(stats.framesRejected).toBe(1)
      expect(stats.framesReceived).toBe(2)
    }),
  )

  itEffect("the same node id cannot attach twice", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      yield* makeInMemoryTransport(network, "n1")
      const second = yield* Effect.either(makeInMemoryTransport(network, "n1"))
      expect(Either.isLeft(second) && second.left._tag).toBe("NodeAlreadyAttached")
      const bad = yield* Effect.either(makeInMemoryTransport(network, "bad.id"))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("InvalidSubjectToken")
    }),
  )

  itEffect("the Layer provides the Transport service", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const n2 = yield* makeInMemoryTransport(network, "n2")
      const program = Effect.gen(function* () {
        const transport = yield* Transport
        yield* transport.sendRaft("n2", beats(transport.self, "n2", 1))
      })
      yield* Effect.provide(program, InMemoryTransport.layer(network, "n1"))
      expect(yield* takeN(n2.raftInbox, 1)).toEqual(beats("n1", "n2", 1))
    }),
  )
})

describe("in-memory transport: bounded queues and connection state", () => {
  itEffect("while disconnected the per-peer queue keeps only the newest messages and counts the rest", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const n1 = yield* makeInMemoryTransport(network, "n1", { queueCapacity: 8 })
      const n2 = yield* makeInMemoryTransport(network, "n2")
      network.disconnect("n1")
      expect(yield* n1.connectionState).toBe("reconnecting")
      yield* n1.sendRaft("n2", beats("n1", "n2", 20))
      yield* settle
      expect(yield* drain(n2.raftInbox)).toEqual([])
      expect((yield* n1.stats).messagesDroppedQueueFull).toBe(12)
      network.reconnect("n1")
      const received = yield* takeN(n2.raftInbox, 8)
      expect(received.map((m) => m.group)).toEqual([12, 13, 14, 15, 16, 17, 18, 19])
    }),
  )

  itEffect("the inbox is bounded and drops the oldest when the consumer falls behind", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const n1 = yield* makeInMemoryTransport(network, "n1")
      const n2 = yield* makeInMemoryTransport(network, "n2", { inboxCapacity: 5 })
      yield* n1.sendRaft("n2", beats("n1", "n2", 12))
      yield* yieldUntil(Effect.map(n2.stats, (s) => s.messagesReceived === 12))
      expect((yield* drain(n2.raftInbox)).map((m) => m.group)).toEqual([7, 8, 9, 10, 11])
      expect((yield* n2.stats).messagesDroppedInboxFull).toBe(7)
    }),
  )

  itEffect("connection state is observable: reconnecting, connected, then closed at scope end", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const scope = yield* Scope.make()
      const n1 = yield* Scope.extend(makeInMemoryTransport(network, "n1"), scope)
      const seen = yield* n1.connectionChanges.pipe(Stream.take(4), Stream.runCollect, Effect.fork)
      yield* settle
      network.disconnect("n1")
      yield* settle
      network.reconnect("n1")
      yield* settle
      yield* Scope.close(scope, Exit.void)
      expect(Chunk.toArray(yield* Fiber.join(seen))).toEqual([
        "connected",
        "reconnecting",
        "connected",
        "closed",
      ])
    }),
  )
})

describe("in-memory transport: partitions", () => {
  /** Sends one marker from → to and waits until the sender handed it to the network. */
  const sendAndFlush = (
    t: Effect.Effect.Success<ReturnType<typeof makeInMemoryTransport>>,
    to: string,
    ctx: number,
  ) =>
    Effect.gen(function* () {
      const before = (yield* t.stats).framesSent
      yield* t.sendRaft(to, [heartbeat(0, t.self, to, ctx)])
      yield* yieldUntil(Effect.map(t.stats, (s) => s.framesSent > before))
    })

  itEffect("a symmetric partition cuts both directions across sides, not within a side; heal restores", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [n1, n2, n3] = yield* cluster(network)
      network.partition(["n1"], ["n2", "n3"])
      yield* sendAndFlush(n1!, "n2", 1)
      yield* sendAndFlush(n2!, "n1", 2)
      yield* sendAndFlush(n2!, "n3", 3)
      expect((yield* takeN(n3!.raftInbox, 1))[0]).toMatchObject({ from: "n2", context: 3 })
      expect(yield* drain(n1!.raftInbox)).toEqual([])
      expect(yield* drain(n2!.raftInbox)).toEqual([])
      expect(network.stats().framesBlocked).toBe(2)
      network.heal()
      yield* sendAndFlush(n1!, "n2", 4)
      expect((yield* takeN(n2!.raftInbox, 1))[0]).toMatchObject({ from: "n1", context: 4 })
    }),
  )

  itEffect("an asymmetric block loses one direction only", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      network.blockLink("n1", "n2")
      yield* sendAndFlush(n1!, "n2", 1)
      yield* sendAndFlush(n2!, "n1", 2)
      expect((yield* takeN(n1!.raftInbox, 1))[0]).toMatchObject({ from: "n2", context: 2 })
      expect(yield* drain(n2!.raftInbox)).toEqual([])
      network.unblockLink("n1", "n2")
      yield* sendAndFlush(n1!, "n2", 3)
      expect((yield* takeN(n2!.raftInbox, 1))[0]).toMatchObject({ context: 3 })
    }),
  )

  itEffect("isolating a node cuts it off from everyone, including nodes attached later", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      network.isolate("n1")
      const n3 = yield* makeInMemoryTransport(network, "n3")
      yield* sendAndFlush(n1!, "n2", 1)
      yield* sendAndFlush(n3, "n1", 2)
      yield* sendAndFlush(n2!, "n3", 3)
      expect((yield* takeN(n3.raftInbox, 1))[0]).toMatchObject({ context: 3 })
      expect(yield* drain(n1!.raftInbox)).toEqual([])
      expect(yield* drain(n2!.raftInbox)).toEqual([])
    }),
  )
})

describe("in-memory transport: drop, duplicate and delay (TestClock)", () => {
  itEffect("delay holds frames until the clock reaches it", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork({ faults: { minDelayMillis: 100, maxDelayMillis: 100 } })
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      yield* n1!.sendRaft("n2", beats("n1", "n2", 2))
      yield* yieldUntil(Effect.map(n1!.stats, (s) => s.framesSent === 1))
      yield* TestClock.adjust("99 millis")
      expect(yield* drain(n2!.raftInbox)).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* takeN(n2!.raftInbox, 2)).toEqual(beats("n1", "n2", 2))
    }),
  )

  itEffect("random delays reorder frames; every frame still arrives", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork({ seed: 42, faults: { minDelayMillis: 0, maxDelayMillis: 50 } })
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      for (let i = 0; i < 20; i++) {
        yield* n1!.sendRaft("n2", [heartbeat(0, "n1", "n2", i)])
        yield* yieldUntil(Effect.map(n1!.stats, (s) => s.framesSent === i + 1))
      }
      yield* TestClock.adjust("50 millis")
      const order = (yield* takeN(n2!.raftInbox, 20)).map((m) => (m as { context: number }).context)
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(order).not.toEqual(Array.from({ length: 20 }, (_, i) => i))
    }),
  )

  itEffect("duplicate rate 1 delivers every frame twice", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork({ faults: { duplicateRate: 1 } })
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      yield* n1!.sendRaft("n2", beats("n1", "n2", 2))
      expect(yield* takeN(n2!.raftInbox, 4)).toEqual([...beats("n1", "n2", 2), ...beats("n1", "n2", 2)])
      expect(network.stats().framesDuplicated).toBe(1)
    }),
  )

  itEffect("a drop rate loses a seeded, reproducible share of frames; a per-link override wins", () =>
    Effect.gen(function* () {
      const delivered = (seed: number) =>
        Effect.scoped(
          Effect.gen(function* () {
            const network = new InMemoryNetwork({ seed, faults: { dropRate: 0.5 } })
            network.setLinkFaults("n1", "n3", { dropRate: 0 })
            const [n1, n2, n3] = yield* cluster(network)
            for (let i = 0; i < 40; i++) {
              yield* n1!.sendRaft("n2", [heartbeat(0, "n1", "n2", i)])
              yield* n1!.sendRaft("n3", [heartbeat(0, "n1", "n3", i)])
              yield* yieldUntil(Effect.map(n1!.stats, (s) => s.framesSent === 2 * (i + 1)))
            }
            const toN2 = (yield* drain(n2!.raftInbox)).map((m) => (m as { context: number }).context)
            const toN3 = yield* drain(n3!.raftInbox)
            return { toN2, toN3: toN3.length }
          }),
        )
      const first = yield* delivered(7)
      expect(first.toN2.length).toBeGreaterThan(5)
      expect(first.toN2.length).toBeLessThan(35)
      expect(first.toN3).toBe(40)
      expect((yield* delivered(7)).toN2).toEqual(first.toN2)
      expect((yield* delivered(8)).toN2).not.toEqual(first.toN2)
    }),
  )

  itEffect("invalid fault settings are refused", () =>
    Effect.sync(() => {
      expect(() => new InMemoryNetwork({ faults: { dropRate: 2 } })).toThrow()
      expect(() => new InMemoryNetwork({ faults: { minDelayMillis: 5, maxDelayMillis: 1 } })).toThrow()
    }),
  )
})

describe("in-memory transport: request-reply", () => {
  const echo = (payload: Uint8Array, from: string) => Effect.succeed(bytes(`${from}:${text(payload)}`))

  itEffect("a request reaches the served handler and the reply comes back", () =>
    Effect.gen(function* () {
      const [n1, n2] = yield* cluster(new InMemoryNetwork(), ["n1", "n2"])
      yield* n2!.serve("kv", echo)
      expect(text(yield* n1!.request("n2", "kv", bytes("put a"), "1 second"))).toBe("n1:put a")
    }),
  )

  itEffect("NoResponders for an unknown service or an absent node; PeerUnreachable when disconnected", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      yield* n2!.serve("kv", echo)
      const unknown = yield* Effect.flip(n1!.request("n2", "nope", bytes("x"), "1 second"))
      expect(unknown._tag).toBe("NoResponders")
      const absent = yield* Effect.flip(n1!.request("n9", "kv", bytes("x"), "1 second"))
      expect(absent._tag).toBe("NoResponders")
      network.disconnect("n1")
      const offline = yield* Effect.flip(n1!.request("n2", "kv", bytes("x"), "1 second"))
      expect(offline._tag).toBe("PeerUnreachable")
    }),
  )

  itEffect("a handler failure or defect reaches the caller as RemoteHandlerFailed", () =>
    Effect.gen(function* () {
      const [n1, n2] = yield* cluster(new InMemoryNetwork(), ["n1", "n2"])
      yield* n2!.serve("fails", () => Effect.fail("disk on fire"))
      yield* n2!.serve("dies", () => Effect.die(new Error("bug")))
      const failed = yield* Effect.flip(n1!.request("n2", "fails", bytes("x"), "1 second"))
      expect(failed._tag).toBe("RemoteHandlerFailed")
      expect(failed.message).toContain("disk on fire")
      const died = yield* Effect.flip(n1!.request("n2", "dies", bytes("x"), "1 second"))
      expect(died._tag).toBe("RemoteHandlerFailed")
    }),
  )

  itEffect("a lost request or a lost reply times out on the clock (TestClock)", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      yield* n2!.serve("kv", echo)
      network.blockLink("n1", "n2")
      const lostRequest = yield* Effect.fork(Effect.flip(n1!.request("n2", "kv", bytes("x"), "5 seconds")))
      yield* settle
      yield* TestClock.adjust("4999 millis")
      expect(lostRequest.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const timeout = yield* Fiber.join(lostRequest)
      expect(timeout).toMatchObject({ _tag: "RequestTimeout", to: "n2", service: "kv", timeoutMillis: 5000 })

      network.heal()
      let served = 0
      yield* n2!.serve("count", () => Effect.sync(() => bytes(String(++served))))
      network.blockLink("n2", "n1")
      const lostReply = yield* Effect.fork(Effect.flip(n1!.request("n2", "count", bytes("x"), "2 seconds")))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(lostReply))._tag).toBe("RequestTimeout")
      expect(served).toBe(1) // the handler ran: only the reply was lost
    }),
  )

  itEffect("delayed requests complete once the clock passes the delay", () =>
    Effect.gen(function* () {
      const network = new InMemoryNetwork({ faults: { minDelayMillis: 30, maxDelayMillis: 30 } })
      const [n1, n2] = yield* cluster(network, ["n1", "n2"])
      yield* n2!.serve("kv", echo)
      const pending = yield* Effect.fork(n1!.request("n2", "kv", bytes("late"), "1 second"))
      yield* settle
      yield* TestClock.adjust("30 millis")
      expect(pending.unsafePoll()).toBeNull() // the reply leg is delayed too
      yield* TestClock.adjust("30 millis")
      expect(text(yield* Fiber.join(pending))).toBe("n1:late")
    }),
  )

  itEffect("a served service is withdrawn when its scope closes", () =>
    Effect.gen(function* () {
      const [n1, n2] = yield* cluster(new InMemoryNetwork(), ["n1", "n2"])
      yield* Effect.scoped(n2!.serve("kv", echo))
      const after = yield* Effect.flip(n1!.request("n2", "kv", bytes("x"), "1 second"))
      expect(after._tag).toBe("NoResponders")
      const invalid = yield* Effect.either(Effect.scoped(n2!.serve("a.b", echo)))
      expect(Either.isLeft(invalid) && invalid.left._tag).toBe("InvalidSubjectToken")
    }),
  )

  itEffect("requests and raft traffic flow between all three nodes concurrently", () =>
    Effect.gen(function* () {
      const [n1, n2, n3] = yield* cluster(new InMemoryNetwork())
      const nodes = [n1!, n2!, n3!]
      yield* Effect.forEach(nodes, (n) => n.serve("kv", echo))
      const replies = yield* Effect.forEach(
        nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => [a, b] as const)),
        ([a, b]) => Effect.map(a.request(b.self, "kv", bytes(b.self), "1 second"), text),
        { concurrency: "unbounded" },
      )
      expect(replies.sort()).toEqual(["n1:n2", "n1:n3", "n2:n1", "n2:n3", "n3:n1", "n3:n2"])
      yield* Effect.forEach(nodes, (a) =>
        Effect.forEach(nodes, (b) => (a === b ? Effect.void : a.sendRaft(b.self, beats(a.self, b.self, 10)))),
      )
      for (const node of nodes) expect((yield* takeN(node.raftInbox, 20)).length).toBe(20)
      expect(Queue.isQueue(n1!.raftInbox)).toBe(true)
    }),
  )
})
