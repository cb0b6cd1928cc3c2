import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Fiber, Queue } from "effect"
import { runApplyLoop } from "../../../actors/apply-loop.ts"
import { Inbox } from "../../../actors/inbox.ts"
import type { ApplyTask, ReplicaInput } from "../../../actors/mailbox.ts"
import { decodeKvSnapshot } from "../../../actors/snapshot-data.ts"
import { AppliedWatch, ProposalWaiters } from "../../../actors/waiters.ts"
import type { Entry } from "../../../schemas/raft.ts"
import { encodeCommand } from "../../../src/kv/codec.ts"
import { KvStateMachine } from "../../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const value = new Uint8Array(2048).fill(97)

const entries = (from: number, n: number): Entry[] =>
  Array.from({ length: n }, (_, i) => ({
    type: "normal" as const,
    index: from + i,
    term: 1,
    data: encodeCommand({ type: "put", request: { key: enc(`k${(from + i) % 200}`), value } }),
  })) as unknown as Entry[]

describe("apply loop: automatic snapshots read in the background", () => {
  // With commit windows, the reader's connection sees the applies only once they are committed.
  test.each([false, true])(
    "the snapshot is the state at its index although applies went on while it was read (commit windows: %p)",
    async (commitWindows) => {
      const dir = mkdtempSync(join(tmpdir(), "lattice-bgsnap-"))
      try {
        const path = join(dir, "kv.db")
        const sm = KvStateMachine.open(bunSqliteDriver.open(path, { synchronous: "NORMAL" }), {
          group: 1,
          commitWindows,
        })
        const reader = bunSqliteDriver.open(path, { synchronous: "NORMAL", readonly: true })
        const result = await Effect.runPromise(
          Effect.gen(function* () {
            const applyQueue = new Inbox<ApplyTask>(Number.POSITIVE_INFINITY)
            const mailbox = yield* Queue.unbounded<ReplicaInput>()
            const loop = yield* Effect.fork(
              runApplyLoop({
                group: 1,
                sm,
                applyQueue,
                mailbox,
                proposals: new ProposalWaiters(),
                applied: new AppliedWatch(0),
                snapshotInterval: 1000,
                lastSnapshotIndex: 0,
                snapshotReader: reader,
              }),
            )
            // Enough rows for many 256 KB chunks, so applies interleave with the read.
            yield* applyQueue.offer({ _tag: "entries", entries: entries(1, 1000) })
            let next = 1001
            let taken: Extract<ReplicaInput, { _tag: "snapshotTaken" }> | null = null
            let appliedWhileReading = 0
            while (taken === null) {
              yield* applyQueue.offer({ _tag: "entries", entries: entries(next, 10) })
              next += 10
              yield* Effect.sleep("1 millis")
              for (const input of yield* Queue.takeAll(mailbox)) {
                if (input._tag === "snapshotTaken") taken = input
                else if (input._tag === "applied" && input.index > 1000) appliedWhileReading++
              }
            }
            yield* Fiber.interrupt(loop)
            return { taken, appliedWhileReading, appliedNow: sm.appliedIndex }
          }),
        )
        const at = result.taken.snapshot.meta.index
        expect(at).toBeGreaterThanOrEqual(1000)
        expect(result.appliedWhileReading).toBeGreaterThan(0)
        expect(result.appliedNow).toBeGreaterThan(at)
        // Restored elsewhere, the snapshot holds exactly the state at its index.
        const copy = KvStateMachine.open(
          bunSqliteDriver.open(join(dir, "copy.db"), { synchronous: "NORMAL" }),
          {
            group: 1,
          },
        )
        await copy.restore(decodeKvSnapshot(result.taken.snapshot.data))
        expect(copy.appliedIndex).toBe(at)
        const expected = KvStateMachine.open(
          bunSqliteDriver.open(join(dir, "expected.db"), { synchronous: "NORMAL" }),
          {
            group: 1,
          },
        )
        expected.applyBatch(entries(1, at).map((e) => ({ index: e.index, command: decodeOf(e) })))
        expect(copy.hash()).toBe(expected.hash())
        // The read transaction was closed: the reader can start another one.
        expect(() => reader.exec("BEGIN; COMMIT")).not.toThrow()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})

import { decodeCommand } from "../../../src/kv/codec.ts"

const decodeOf = (e: Entry) => decodeCommand((e as unknown as { data: Uint8Array }).data)
