import { describe, expect, test } from "bun:test"
import { ReadCoalescer } from "../../../src/node/read-coalescer.ts"

/** A barrier the test completes by hand: records each call's budget and batch size. */
const manualBarrier = () => {
  const calls: { budgetMs: number; reads: number; settle: (ok: boolean, v: number) => void }[] = []
  let round = 0
  const barrier = (budgetMs: number, reads: number) =>
    new Promise<number>((resolve, reject) => {
      const n = ++round
      calls.push({
        budgetMs,
        reads,
        settle: (ok, v) => (ok ? resolve(v * 100 + n) : reject(new Error(`round ${n} failed`))),
      })
    })
  return { calls, barrier }
}

const flush = () => new Promise((r) => setTimeout(r, 0))

describe("ReadCoalescer", () => {
  test("the first read starts a barrier at once; reads arriving meanwhile share ONE next barrier", async () => {
    const { calls, barrier } = manualBarrier()
    const c = new ReadCoalescer(barrier, 1000)
    const first = c.read()
    expect(calls.length).toBe(1)
    expect(calls[0]?.reads).toBe(1)
    const later = [c.read(), c.read(), c.read()]
    // None of them may ride on the round that started before they arrived.
    expect(calls.length).toBe(1)
    expect(c.pending).toEqual({ inFlight: true, waiting: 3 })
    calls[0]?.settle(true, 7)
    expect(await first).toBe(701)
    await flush()
    expect(calls.length).toBe(2)
    expect(calls[1]?.reads).toBe(3)
    let settled = false
    void Promise.all(later).then(() => {
      settled = true
    })
    await flush()
    expect(settled).toBe(false)
    calls[1]?.settle(true, 8)
    expect(await Promise.all(later)).toEqual([802, 802, 802])
    await flush()
    expect(calls.length).toBe(2)
    expect(c.pending).toEqual({ inFlight: false, waiting: 0 })
  })

  test("a failing barrier fails exactly the reads that joined it; the next batch gets its own", async () => {
    const { calls, barrier } = manualBarrier()
    const c = new ReadCoalescer(barrier, 1000)
    const a = c.read()
    const b = c.read()
    calls[0]?.settle(false, 0)
    await expect(a).rejects.toThrow("round 1 failed")
    await flush()
    calls[1]?.settle(true, 5)
    expect(await b).toBe(502)
  })

  test("a batch's budget counts from its first read's arrival", async () => {
    const { calls, barrier } = manualBarrier()
    let now = 0
    const c = new ReadCoalescer(barrier, 1000, () => now)
    void c.read()
    now = 100
    void c.read()
    now = 400
    calls[0]?.settle(true, 1)
    await flush()
    expect(calls[0]?.budgetMs).toBe(1000)
    expect(calls[1]?.budgetMs).toBe(700)
  })

  test("a barrier that throws synchronously fails its reads and does not wedge the next", async () => {
    let first = true
    const c = new ReadCoalescer(async () => 1, 1000)
    const throwing = new ReadCoalescer((): Promise<number> => {
      if (first) {
        first = false
        throw new Error("boom")
      }
      return Promise.resolve(2)
    }, 1000)
    await expect(throwing.read()).rejects.toThrow("boom")
    expect(await throwing.read()).toBe(2)
    expect(await c.read()).toBe(1)
  })
})
