/**
 * The apply loop's batches run as plain code off its Inbox; what is an Effect (snapshots, a full
 * mailbox) and the compaction steps run on its fiber. Checked: order and acknowledgements, the
 * commit task, and a compaction sweep that finishes in the background while applies go on.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Fiber, Queue } from "effect"
import { runApplyLoop } from "../../../actors/apply-loop.ts"
import { Inbox } from "../../../actors/inbox.ts"
import type { ApplyTask, ReplicaInput } from "../../../actors/mailbox.ts"
import { AppliedWatch, ProposalWaiters } from "../../../actors/waiters.ts"
import type { KvCommand } from "../../../schemas/kv.ts"
import type { Entry } from "../../../schemas/raft.ts"
import { encodeCommand } from "../../../src/kv/codec.ts"
import { KvStateMachine } from "../../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const put = (i: number): KvCommand => ({
  type: "put",
  request: { key: enc(`k${i % 10}`), value: enc(`v${i}`) },
})
const entry = (index: number, command: KvCommand): Entry =>
  ({ type: "normal", index, term: 1, data: encodeCommand(command) }) as unknown as Entry
const puts = (from: number, n: number): Entry[] =>
  Array.from({ length: n }, (_, i) => entry(from + i, put(from + i)))

const withLoop = <A>(
  commitWindows: boolean,
  body: (ctx: {
    sm: KvStateMachine
    queue: Inbox<ApplyTask>
    mailbox: Queue.Queue<ReplicaInput>
    dir: string
  }) => Effect.Effect<A>,
): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-apply-"))
  const sm = KvStateMachine.open(bunSqliteDriver.open(join(dir, "kv.db"), { synchronous: "NORMAL" }), {
    group: 1,
    commitWindows,
  })
  return Effect.runPromise(
    Effect.gen(function* () {
      const queue = new Inbox<ApplyTask>(Number.POSITIVE_INFINITY)
      const mailbox = yield* Queue.unbounded<ReplicaInput>()
      const loop = yield* Effect.fork(
        runApplyLoop({
          group: 1,
          sm,
          applyQueue: queue,
          mailbox,
          proposals: new ProposalWaiters(),
          applied: new AppliedWatch(0),
          snapshotInterval: 1_000_000,
          lastSnapshotIndex: 0,
        }),
      )
      const result = yield* body({ sm, queue, mailbox, dir })
      yield* Fiber.interrupt(loop)
      return result
    }),
  ).finally(() => {
    sm.db.close()
    rmSync(dir, { recursive: true, force: true })
  })
}

/** Waits (polling, 1 ms) until `done` holds, for at most `ms`. */
const until = (done: () => boolean, ms = 5000) =>
  Effect.gen(function* () {
    for (let waited = 0; !done(); waited++) {
      if (waited > ms) throw new Error("timed out")
      yield* Effect.sleep("1 millis")
    }
  })

describe("apply loop", () => {
  test("applies tasks in order, tells the replica how far, and a commit task commits the window", () =>
    withLoop(true, ({ sm, queue, mailbox, dir }) =>
      Effect.gen(function* () {
        for (let from = 1; from <= 50; from += 5)
          queue.unsafeOffer({ _tag: "entries", entries: puts(from, 5) })
        yield* until(() => sm.appliedIndex === 50)
        expect(sm.revision).toBe(51)
        const applied = Array.from(yield* Queue.takeAll(mailbox)).filter((i) => i._tag === "applied")
        expect(applied.at(-1)).toEqual({ _tag: "applied", index: 50 })
        const reader = bunSqliteDriver.open(join(dir, "kv.db"), { synchronous: "NORMAL", readonly: true })
        const committed = () =>
          Number(reader.prepare("SELECT applied_index FROM kv_1_state WHERE id = 0").get()?.applied_index)
        expect(sm.uncommitted).toBe(true)
        expect(committed()).toBe(0)
        queue.unsafeOffer({ _tag: "commit" })
        yield* until(() => !sm.uncommitted)
        expect(committed()).toBe(50)
        reader.close()
      }),
    ))

  test("a compaction sweep finishes in the background while applies go on, to the state a direct compaction gives", async () => {
    const compactAt = 2500
    const log: Entry[] = [
      ...puts(1, 3000),
      entry(3001, { type: "compact", request: { revision: compactAt } }),
    ]
    const final = await withLoop(false, ({ sm, queue }) =>
      Effect.gen(function* () {
        queue.unsafeOffer({ _tag: "entries", entries: log })
        yield* until(() => sm.appliedIndex === 3001)
        // Applies keep arriving while the sweep runs (several steps: 1,000 keys), one entry at a time.
        for (let i = 3002; i <= 3040; i++) {
          queue.unsafeOffer({ _tag: "entries", entries: [entry(i, put(i))] })
          yield* Effect.yieldNow()
        }
        yield* until(() => sm.appliedIndex === 3040 && sm.isCompacted(compactAt))
        return sm.hash()
      }),
    )
    const dir = mkdtempSync(join(tmpdir(), "lattice-apply-ref-"))
    try {
      const ref = KvStateMachine.open(bunSqliteDriver.open(join(dir, "kv.db"), { synchronous: "NORMAL" }), {
        group: 1,
      })
      ref.applyBatch(log.map((e) => ({ index: e.index, command: decodeOf(e) })))
      while (!ref.compactStep(256)) {}
      ref.applyBatch(Array.from({ length: 39 }, (_, i) => ({ index: 3002 + i, command: put(3002 + i) })))
      expect(final).toBe(ref.hash())
      ref.db.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

import { decodeCommand } from "../../../src/kv/codec.ts"

const decodeOf = (e: Entry) => decodeCommand((e as unknown as { data: Uint8Array }).data)
