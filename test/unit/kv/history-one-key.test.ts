/**
 * A one-key watch catches up through the key index (`versionsBetween`); every other span scans the
 * revision-keyed table. Both must give the same history: the one-key span against [key, key + "\0"),
 * which holds exactly that key.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import type { KvCommand } from "../../../schemas/kv.ts"
import { keySpan } from "../../../src/kv/store.ts"
import { HistoryReader } from "../../../src/kv/watch/history.ts"
import { openFixture } from "./helpers.ts"

const KEYS = ["a", "b", "c"].map((k) => new TextEncoder().encode(k))
const step = fc.oneof(
  fc.record({ op: fc.constant("put" as const), key: fc.nat(2), value: fc.nat(9) }),
  fc.record({ op: fc.constant("del" as const), key: fc.nat(2) }),
  fc.record({ op: fc.constant("delAll" as const) }),
  fc.record({ op: fc.constant("putDel" as const), key: fc.nat(2) }),
)

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never

const commandOf = (s: Step): KvCommand => {
  switch (s.op) {
    case "put":
      return { type: "put", request: { key: KEYS[s.key]!, value: new Uint8Array([s.value]) } }
    case "del":
      return { type: "deleteRange", request: { key: KEYS[s.key]! } }
    case "delAll":
      return { type: "deleteRange", request: { key: KEYS[0]!, rangeEnd: new Uint8Array([0]) } }
    case "putDel":
      // A put and a delete of one key in one txn: two writes of the key at one revision.
      return {
        type: "txn",
        request: {
          compare: [],
          success: [
            {
              type: "txn",
              request: {
                compare: [],
                success: [{ type: "put", request: { key: KEYS[s.key]! } }],
                failure: [],
              },
            },
            {
              type: "txn",
              request: {
                compare: [],
                success: [{ type: "deleteRange", request: { key: KEYS[s.key]! } }],
                failure: [],
              },
            },
          ],
          failure: [],
        },
      }
  }
}

test("a one-key history read through the key index equals the table scan of that key's span", () => {
  fc.assert(
    fc.property(
      fc.array(step, { minLength: 1, maxLength: 40 }),
      fc.nat(45),
      fc.nat(45),
      fc.integer({ min: 1, max: 8 }),
      fc.nat(2),
      (steps, a, b, maxRows, k) => {
        const f = openFixture({ cacheSize: 2 })
        try {
          for (const s of steps) f.run(commandOf(s))
          const reader = new HistoryReader(f.db, f.sm.tables, f.sm)
          const key = KEYS[k]!
          const from = Math.min(a, b) + 1
          const to = Math.min(Math.max(a, b) + 1, f.sm.revision)
          const prevKv = { compactRev: f.sm.compactRevision }
          const viaIndex = reader.page(1, keySpan(key, undefined), from, to, maxRows, prevKv)
          const viaScan = reader.page(
            1,
            keySpan(key, Uint8Array.from([...key, 0])),
            from,
            to,
            maxRows,
            prevKv,
          )
          expect(viaIndex).toEqual(viaScan)
        } finally {
          f.close()
        }
      },
    ),
    { numRuns: 150 },
  )
})
