/**
 * Side by side against a real etcd 3.4: the same operation sequences go to a fresh etcd
 * (through its JSON gateway) and to a fresh state machine, and the normalized responses
 * (revisions, versions, values, counts, more, prev_kv, errors) must be identical.
 * KV_ETCD_RUNS scales the number of random sequences (default 6; each starts its own etcd).
 */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import type { KvCommand, RequestOp, TxnRequest } from "../../../schemas/kv.ts"
import { GRANTED_LEASE, leaseExists, resolveBack, type Step, stepArb } from "../../unit/kv/gen.ts"
import { openFixture } from "../../unit/kv/helpers.ts"
import { normalizeOutcome, normalizeRange } from "../../unit/kv/normalize.ts"
import { etcdAvailable, startEtcd } from "./etcd-process.ts"
import {
  deleteJson,
  deleteOf,
  errorOf,
  putJson,
  putOf,
  rangeJson,
  rangeOf,
  txnJson,
  txnOf,
} from "./gateway-json.ts"

const RUNS = Number(process.env.KV_ETCD_RUNS ?? 6)
const enc = new TextEncoder()
const k = (s: string): Uint8Array => enc.encode(s)

const post = async (url: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
  const res = await fetch(`${url}/v3/kv/${path}`, { method: "POST", body: JSON.stringify(body) })
  return (await res.json()) as Record<string, unknown>
}

/** Drives one sequence through both and returns the first mismatch, if any. */
const runSideBySide = async (steps: readonly Step[]): Promise<void> => {
  const etcd = await startEtcd()
  const granted = await fetch(`${etcd.url}/v3/lease/grant`, {
    method: "POST",
    body: JSON.stringify({ TTL: "3600", ID: String(GRANTED_LEASE) }),
  })
  expect(((await granted.json()) as { ID?: string }).ID).toBe(String(GRANTED_LEASE))
  const f = openFixture({ leaseExists })
  try {
    for (const [i, step] of steps.entries()) {
      const where = `step ${i}: ${step.kind}`
      if (step.kind === "range") {
        const req = { ...step.request, revision: resolveBack(f.sm.revision, step.back) }
        const theirs = rangeOf(await post(etcd.url, "range", rangeJson(req)))
        expect({ where, r: normalizeRange(f.sm.range(req)) }).toEqual({ where, r: theirs })
        continue
      }
      let cmd: KvCommand
      let theirs: unknown
      switch (step.kind) {
        case "put": {
          cmd = { type: "put", request: step.request }
          const r = await post(etcd.url, "put", putJson(step.request))
          theirs = errorOf(r) ?? putOf(r)
          break
        }
        case "deleteRange": {
          cmd = { type: "deleteRange", request: step.request }
          const r = await post(etcd.url, "deleterange", deleteJson(step.request))
          theirs = errorOf(r) ?? deleteOf(r)
          break
        }
        case "txn": {
          cmd = { type: "txn", request: step.request }
          const r = await post(etcd.url, "txn", txnJson(step.request))
          theirs = errorOf(r) ?? txnOf(r)
          break
        }
        case "compact": {
          const revision = resolveBack(f.sm.revision, step.back)
          cmd = { type: "compact", request: { revision } }
          const r = await post(etcd.url, "compaction", { revision: String(revision), physical: true })
          theirs = errorOf(r) ?? {
            compact: { rev: Number((r.header as { revision?: string }).revision ?? 0) },
          }
          break
        }
      }
      const ours = normalizeOutcome(f.run(cmd))
      expect({ where, r: ours }).toEqual({ where, r: theirs })
      if (step.kind === "compact") while (!f.sm.compactStep(100)) {}
    }
    // Final state, at every revision still readable.
    const all = { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }
    for (let rev = Math.max(1, f.sm.compactRevision); rev <= f.sm.revision; rev++) {
      const theirs = rangeOf(await post(etcd.url, "range", rangeJson({ ...all, revision: rev })))
      expect(normalizeRange(f.sm.range({ ...all, revision: rev }))).toEqual(theirs)
    }
  } finally {
    f.close()
    await etcd.stop()
  }
}

const put = (key: string, value = "v"): Step => ({ kind: "put", request: { key: k(key), value: k(value) } })
const txn = (request: Partial<TxnRequest>): Step => ({
  kind: "txn",
  request: { compare: [], success: [], failure: [], ...request },
})
const op = {
  put: (key: string): RequestOp => ({ type: "put", request: { key: k(key), value: k("t") } }),
  del: (key: string, end = ""): RequestOp => ({
    type: "deleteRange",
    request: { key: k(key), rangeEnd: k(end) },
  }),
  txn: (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({
    type: "txn",
    request: { compare: [], success, failure },
  }),
}

/** The duplicate-key and revision rules that are easy to get subtly wrong. */
const EDGE_CASES: Step[] = [
  put("a"),
  put("b"),
  txn({ success: [op.put("a"), op.put("a")] }),
  txn({ success: [op.del("a", "c"), op.put("b")] }),
  txn({ success: [op.del("a", "\u0000"), op.put("b")] }),
  txn({ success: [op.del("c", "a"), op.put("b")] }),
  txn({ success: [op.txn([op.put("c")]), op.txn([op.del("c")])] }),
  txn({ success: [op.txn([op.del("c")]), op.txn([op.put("c")])] }),
  txn({ success: [op.txn([op.put("d")], [op.put("d")])] }),
  txn({ success: [op.put("d"), op.txn([], [op.put("d")])] }),
  txn({ success: [op.txn([op.put("e")]), op.txn([], [op.put("e")])] }),
  txn({ success: [op.del("x")] }),
  txn({ success: [op.del("a"), op.del("a", "c")] }),
  { kind: "deleteRange", request: { key: k("zz") } },
  { kind: "compact", back: 2 },
  { kind: "compact", back: 3 },
  txn({ success: [{ type: "range", request: { key: k("a"), revision: 1 } }, op.put("q")] }),
  txn({ success: [{ type: "range", request: { key: k("a"), revision: -3 } }] }),
  txn({ success: Array.from({ length: 129 }, (_, i) => op.put(`k${i}`)) }),
  txn({
    compare: Array.from({ length: 100 }, () => ({
      key: k("a"),
      target: "VERSION" as const,
      result: "GREATER" as const,
    })),
    success: [op.txn(Array.from({ length: 29 }, (_, i) => op.put(`n${i}`)))],
  }),
  { kind: "compact", back: 0 },
]

describe.skipIf(!etcdAvailable())("side by side with a real etcd 3.4", () => {
  test("hand-picked edge cases", async () => {
    await runSideBySide(EDGE_CASES)
  }, 60_000)

  test(`random operation sequences (${RUNS})`, async () => {
    const sequences = fc.sample(fc.array(stepArb, { minLength: 20, maxLength: 50, size: "max" }), {
      numRuns: RUNS,
      seed: Number(process.env.KV_ETCD_SEED ?? 4),
    })
    for (const steps of sequences) await runSideBySide(steps)
  }, 300_000)
})

if (!etcdAvailable()) {
  test.skip("side by side with a real etcd 3.4: SKIPPED, no etcd binary at /usr/bin/etcd (set ETCD_BINARY)", () => {})
}
