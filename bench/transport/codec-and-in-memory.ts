/**
 * The transport without a network: frame codec encode/decode rates, and Raft message delivery
 * through the in-memory transport (what `lattice dev`, the SDK and simulations run on).
 *
 *   bun bench/transport/codec-and-in-memory.ts
 *   LATTICE_BENCH_SECONDS=5 bun bench/transport/codec-and-in-memory.ts
 */
import { Effect, Either, Queue } from "effect"
import type { Message } from "../../src/raft/messages.ts"
import { makeInMemoryTransport } from "../../src/transport/in-memory.ts"
import { InMemoryNetwork } from "../../src/transport/in-memory-network.ts"
import { decodeFrame, encodeFrames } from "../../src/transport/raft-codec.ts"

const seconds = Number(process.env.LATTICE_BENCH_SECONDS ?? 2)
const fmt = (value: number) => Math.round(value).toLocaleString("en-US").padStart(12)

const heartbeat = (group: number): Message => ({
  type: "heartbeat",
  group,
  from: "n1",
  to: "n2",
  term: 12,
  commit: 1_000_000 + group,
  context: 0,
})

const append = (group: number): Message => ({
  type: "append",
  group,
  from: "n1",
  to: "n2",
  term: 12,
  prevIndex: 1_000_000,
  prevTerm: 12,
  entries: Array.from({ length: 4 }, (_, i) => ({
    index: 1_000_001 + i,
    term: 12,
    type: "normal" as const,
    data: new Uint8Array(256).fill(i),
  })),
  commit: 1_000_000,
})

/** Runs `body` repeatedly for the bench duration; returns iterations per second. */
const rate = (body: () => void): number => {
  for (let i = 0; i < 200; i++) body() // warm-up
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) {
    body()
    n++
  }
  return n / ((performance.now() - start) / 1000)
}

const codec = (name: string, batch: readonly Message[]) => {
  const frame = encodeFrames(batch, 1 << 20).frames[0]!
  const encodes = rate(() => encodeFrames(batch, 1 << 20))
  const decodes = rate(() => {
    if (Either.isLeft(decodeFrame(frame))) throw new Error("decode failed")
  })
  console.log(
    `codec ${name.padEnd(30)} ${String(frame.length).padStart(7)} B/frame ` +
      `encode ${fmt(encodes * batch.length)} msg/s  decode ${fmt(decodes * batch.length)} msg/s ` +
      `(${((decodes * frame.length) / 1e6).toFixed(0)} MB/s)`,
  )
}

const inMemory = (name: string, batch: readonly Message[]) =>
  Effect.scoped(
    Effect.gen(function* () {
      const network = new InMemoryNetwork()
      const n1 = yield* makeInMemoryTransport(network, "n1")
      const n2 = yield* makeInMemoryTransport(network, "n2")
      let received = 0
      const start = performance.now()
      const end = start + seconds * 1000
      while (performance.now() < end) {
        yield* n1.sendRaft("n2", batch)
        received += (yield* Queue.takeBetween(n2.raftInbox, batch.length, batch.length)).length
      }
      const elapsed = (performance.now() - start) / 1000
      const frames = (yield* n2.stats).framesReceived
      console.log(
        `in-memory ${name.padEnd(26)} ${fmt(received / elapsed)} msg/s ${fmt(frames / elapsed)} frames/s`,
      )
    }),
  )

codec("1 heartbeat", [heartbeat(1)])
codec(
  "64 heartbeats (64 groups)",
  Array.from({ length: 64 }, (_, g) => heartbeat(g)),
)
codec(
  "16 appends x 4 x 256 B",
  Array.from({ length: 16 }, (_, g) => append(g)),
)

Effect.runPromise(
  Effect.gen(function* () {
    yield* inMemory("1 heartbeat per send", [heartbeat(1)])
    yield* inMemory(
      "64 heartbeats per send",
      Array.from({ length: 64 }, (_, g) => heartbeat(g)),
    )
    yield* inMemory(
      "16 appends per send",
      Array.from({ length: 16 }, (_, g) => append(g)),
    )
  }),
).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
