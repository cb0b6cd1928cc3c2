/**
 * Property: random operation sequences give the same outcomes (responses, errors,
 * revisions) from the SQLite state machine and from the in-memory model, and the final
 * states agree. KV_PROPERTY_RUNS scales the number of sequences (default 60); KV_PROPERTY_SEED
 * and KV_PROPERTY_PATH replay a printed failure.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import type { KvCommand, KvOutcome } from "../../../schemas/kv.ts"
import { KvError } from "../../../schemas/kv.ts"
import { leaseExists, resolveBack, type Step, stepArb } from "./gen.ts"
import { openFixture } from "./helpers.ts"
import { EtcdModel } from "./model.ts"
import { normalizeOutcome, normalizeRange } from "./normalize.ts"

const RUNS = Number(process.env.KV_PROPERTY_RUNS ?? 60)
// A failure prints its seed and path; KV_PROPERTY_SEED and KV_PROPERTY_PATH replay it.
const REPLAY =
  process.env.KV_PROPERTY_SEED === undefined
    ? {}
    : { seed: Number(process.env.KV_PROPERTY_SEED), path: process.env.KV_PROPERTY_PATH }
const ALL = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }

const commandOf = (step: Step, current: number): KvCommand | undefined => {
  switch (step.kind) {
    case "put":
    case "deleteRange":
    case "txn":
      return { type: step.kind, request: step.request } as KvCommand
    case "compact":
      return { type: "compact", request: { revision: resolveBack(current, step.back) } }
    case "range":
      return undefined
  }
}

// Without the cache of newest versions, with one small enough to evict all the time, and a large one;
// and with commit windows (applies in one open transaction, committed every few steps). The other
// variants take a third of the runs each, so the suite's time stays close to what it was.
for (const [cacheSize, runs, commitWindows] of [
  [0, RUNS, false],
  [3, Math.ceil(RUNS / 3), false],
  [1000, Math.ceil(RUNS / 3), false],
  [1000, Math.ceil(RUNS / 3), true],
] as const)
  test(`state machine agrees with the etcd model on random operation sequences (key cache ${cacheSize}${commitWindows ? ", commit windows" : ""})`, () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 5, maxLength: 60, size: "max" }), (steps) => {
        const f = openFixture({ leaseExists, cacheSize, commitWindows })
        const model = new EtcdModel()
        try {
          for (const [i, step] of steps.entries()) {
            if (i % 4 === 3) f.sm.commitWindow()
            const cmd = commandOf(step, model.revision)
            if (cmd === undefined && step.kind === "range") {
              const req = { ...step.request, revision: resolveBack(model.revision, step.back) }
              const got = f.sm.range(req)
              const want = model.range("default", req)
              expect(normalizeRange(got)).toEqual(normalizeRange(want))
              continue
            }
            const got: KvOutcome = f.run(cmd!)
            const want = model.apply("default", cmd!)
            expect(normalizeOutcome(got)).toEqual(normalizeOutcome(want))
            expect(f.sm.revision).toBe(model.revision)
            if (step.kind === "compact") while (!f.sm.compactStep(2)) {}
          }
          const at = model.compactRev > 0 ? model.compactRev : 1
          for (let rev = at; rev <= model.revision; rev++) {
            expect(normalizeRange(f.sm.range({ ...ALL, revision: rev }))).toEqual(
              normalizeRange(model.range("default", { ...ALL, revision: rev })),
            )
          }
        } finally {
          f.close()
        }
      }),
      { numRuns: runs, ...REPLAY },
    )
  }, 120_000)

test("the model check can fail: a wrong revision is caught", () => {
  const f = openFixture()
  const model = new EtcdModel()
  f.run({ type: "put", request: { key: new Uint8Array([97]) } })
  model.apply("default", { type: "put", request: { key: new Uint8Array([97]) } })
  model.apply("default", { type: "put", request: { key: new Uint8Array([98]) } })
  expect(normalizeRange(f.sm.range(ALL))).not.toEqual(normalizeRange(model.range("default", ALL)))
  expect(model.range("default", { key: new Uint8Array(0) })).toBeInstanceOf(KvError)
  f.close()
})
