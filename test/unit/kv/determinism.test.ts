/**
 * Replicas agree: two state machines fed the same commands have equal hashes after every
 * entry, even when one sweeps compaction at other moments, applies in other batch sizes, or
 * is rebuilt from a snapshot midway. And apply reports the changes for watchers.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import type { KvCommand } from "../../../schemas/kv.ts"
import { encodeCommand } from "../../../src/kv/codec.ts"
import { resolveBack, stepArb } from "./gen.ts"
import { b, openFixture } from "./helpers.ts"

const RUNS = Number(process.env.KV_PROPERTY_RUNS ?? 60) / 3

test("replicas fed the same entries have the same hash after each one", async () => {
  const seqs = fc.sample(
    fc.array(fc.tuple(stepArb, fc.constantFrom("default", "t2"), fc.nat(3)), {
      minLength: 10,
      maxLength: 50,
      size: "max",
    }),
    { numRuns: Math.max(1, RUNS), seed: 7 },
  )
  for (const seq of seqs) {
    const a = openFixture({ idempotency: { ttlTicks: 3, maxRecords: 5 } })
    let bx = openFixture({ idempotency: { ttlTicks: 3, maxRecords: 5 } })
    const pending: { index: number; command: KvCommand }[] = []
    let tick = 0
    for (const [i, [step, tenant, r]] of seq.entries()) {
      const command: KvCommand =
        step.kind === "range"
          ? { type: "tick", tick: ++tick, ms: tick * 100 }
          : step.kind === "compact"
            ? { type: "compact", request: { revision: resolveBack(a.sm.revision, step.back) } }
            : ({
                type: step.kind,
                tenant,
                request: step.request,
                idempotency: r === 0 ? { clientId: "c", requestId: i % 4 } : undefined,
              } as KvCommand)
      a.sm.applyEncoded(i + 1, encodeCommand(command))
      a.sm.compactStep(1 + r)
      pending.push({ index: i + 1, command })
      if (r === 3 || i === seq.length - 1) {
        bx.sm.applyBatch(pending.splice(0))
        expect(bx.sm.hash()).toBe(a.sm.hash())
      }
      if (i === Math.floor(seq.length / 2)) {
        const rebuilt = openFixture({ idempotency: { ttlTicks: 3, maxRecords: 5 } })
        bx.sm.applyBatch(pending.splice(0))
        await rebuilt.sm.restore(bx.sm.snapshot())
        bx.close()
        bx = rebuilt
        expect(bx.sm.hash()).toBe(a.sm.hash())
      }
    }
    a.close()
    bx.close()
  }
}, 60_000)

test("apply reports each change with its previous value, in order", () => {
  const f = openFixture()
  f.run({ type: "put", request: { key: b("a"), value: b("1") } })
  const r = f.sm.apply(2, {
    type: "txn",
    request: {
      compare: [],
      success: [
        { type: "put", request: { key: b("a"), value: b("2") } },
        { type: "deleteRange", request: { key: b("b") } },
        { type: "put", request: { key: b("c") } },
      ],
      failure: [],
    },
  })
  expect(
    r.events.map((e) => [e.type, String.fromCharCode(...e.kv.key), e.kv.modRevision, e.prevKv?.version ?? 0]),
  ).toEqual([
    ["put", "a", 3, 1],
    ["put", "c", 3, 0],
  ])
  const d = f.sm.apply(3, { type: "deleteRange", request: { key: b("a"), rangeEnd: b("z") } })
  expect(d.events.map((e) => [e.type, String.fromCharCode(...e.kv.key), e.kv.modRevision])).toEqual([
    ["delete", "a", 4],
    ["delete", "c", 4],
  ])
  expect(d.revision).toBe(4)
  f.close()
})
