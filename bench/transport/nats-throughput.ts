/**
 * Raft traffic and request-reply through a real nats-server between two NATS transports.
 *
 *   bun bench/transport/nats-throughput.ts            # ~3 s per scenario
 *   LATTICE_BENCH_SECONDS=10 bun bench/transport/nats-throughput.ts
 *
 * Raft scenarios keep at most WINDOW messages in flight (sent but not yet received), so the
 * figures are sustained delivery rates, not queueing into the void; drops are reported.
 */
import { Effect, Fiber, Queue, Ref } from "effect"
import type { Message } from "../../src/raft/messages.ts"
import { makeNatsTransport } from "../../src/transport/nats.ts"
import type { TransportShape } from "../../src/transport/transport.ts"
import { startNatsServer } from "../../test/support/nats-server.ts"

const seconds = Number(process.env.LATTICE_BENCH_SECONDS ?? 3)
const WINDOW = 16_384

/** Gives the event loop a turn (socket reads happen there), without a timer's minimum delay. */
const nextMacrotask = Effect.async<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

const heartbeat = (group: number): Message => ({
  type: "heartbeat",
  group,
  from: "n1",
  to: "n2",
  term: 5,
  commit: 1_000_000 + group,
  context: 0,
})

const append = (group: number, valueBytes: number): Message => ({
  type: "append",
  group,
  from: "n1",
  to: "n2",
  term: 5,
  prevIndex: 1_000_000,
  prevTerm: 5,
  entries: [{ index: 1_000_001, term: 5, type: "normal", data: new Uint8Array(valueBytes).fill(42) }],
  commit: 1_000_000,
})

const raftScenario = (name: string, n1: TransportShape, n2: TransportShape, batch: readonly Message[]) =>
  Effect.gen(function* () {
    yield* Queue.takeAll(n2.raftInbox)
    const before1 = yield* n1.stats
    const before2 = yield* n2.stats
    const received = yield* Ref.make(0)
    const consumer = yield* Effect.fork(
      Effect.forever(
        Effect.flatMap(Queue.takeBetween(n2.raftInbox, 1, 65_536), (chunk) =>
          Ref.update(received, (n) => n + chunk.length),
        ),
      ),
    )
    let sent = 0
    const start = performance.now()
    const end = start + seconds * 1000
    while (performance.now() < end) {
      while (sent - (yield* Ref.get(received)) > WINDOW) yield* nextMacrotask
      yield* n1.sendRaft("n2", batch)
      sent += batch.length
      yield* Effect.yieldNow()
    }
    // Wait for the tail (up to 2 s), then measure.
    const tailDeadline = performance.now() + 2000
    while ((yield* Ref.get(received)) < sent && performance.now() < tailDeadline) yield* nextMacrotask
    const elapsed = (performance.now() - start) / 1000
    yield* Effect.sleep("10 millis")
    const got = yield* Ref.get(received)
    const after1 = yield* n1.stats
    const after2 = yield* n2.stats
    const frames = after2.framesReceived - before2.framesReceived
    const dropped = after1.messagesDroppedQueueFull - before1.messagesDroppedQueueFull
    const yield_ = (value: number) => Math.round(value).toLocaleString("en-US")
    console.log(
      `${name.padEnd(40)} ${yield_(got / elapsed).padStart(11)} msg/s ${yield_(frames / elapsed).padStart(9)} frames/s ` +
        `avg ${(got / Math.max(1, frames)).toFixed(1).padStart(6)} msg/frame  dropped ${dropped}`,
    )
    yield* Fiber.interrupt(consumer)
  })

const requestScenario = (name: string, n1: TransportShape, concurrency: number, payloadBytes: number) =>
  Effect.gen(function* () {
    const payload = new Uint8Array(payloadBytes).fill(1)
    let done = 0
    const start = performance.now()
    const end = start + seconds * 1000
    yield* Effect.forEach(
      Array.from({ length: concurrency }),
      () =>
        Effect.gen(function* () {
          while (performance.now() < end) {
            yield* n1.request("n2", "echo", payload, "5 seconds")
            done++
          }
        }),
      { concurrency: "unbounded", discard: true },
    )
    const elapsed = (performance.now() - start) / 1000
    console.log(
      `${name.padEnd(40)} ${Math.round(done / elapsed)
        .toLocaleString("en-US")
        .padStart(11)} req/s  ` + `mean ${((elapsed * 1000 * concurrency) / done).toFixed(3)} ms`,
    )
  })

const main = Effect.gen(function* () {
  const server = yield* Effect.acquireRelease(
    Effect.promise(() => startNatsServer()),
    (s) => Effect.promise(() => s.stop()),
  )
  const config = { cluster: "bench", servers: [server.url] }
  const n1 = yield* makeNatsTransport({ ...config, self: "n1" })
  const n2 = yield* makeNatsTransport({ ...config, self: "n2" })
  yield* n2.serve("echo", (payload) => Effect.succeed(payload))
  console.log(`nats-server ${server.url}, ${seconds} s per scenario, window ${WINDOW} messages`)

  yield* raftScenario("heartbeats, 1 per sendRaft", n1, n2, [heartbeat(1)])
  yield* raftScenario(
    "heartbeats, 64 groups per sendRaft",
    n1,
    n2,
    Array.from({ length: 64 }, (_, g) => heartbeat(g)),
  )
  yield* raftScenario(
    "append 256 B entry, 16 groups per sendRaft",
    n1,
    n2,
    Array.from({ length: 16 }, (_, g) => append(g, 256)),
  )
  yield* raftScenario("append 4 KiB entry, 1 per sendRaft", n1, n2, [append(1, 4096)])
  yield* requestScenario("request-reply 64 B, 1 in flight", n1, 1, 64)
  yield* requestScenario("request-reply 64 B, 64 in flight", n1, 64, 64)
})

Effect.runPromise(Effect.scoped(main)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
