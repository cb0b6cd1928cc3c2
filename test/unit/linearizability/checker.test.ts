import { describe, expect, test } from "bun:test"
import { checkKvHistory, type KvOperation } from "../../support/linearizability-kv.ts"
import { cas, read, write } from "./history-builders.ts"

const kind = (ops: KvOperation[]) => checkKvHistory(ops).kind

describe("linearizability checker accepts valid histories", () => {
  test("empty history", () => {
    expect(kind([])).toBe("ok")
  })

  test("sequential write then read", () => {
    expect(kind([write(1, "x", "1", 0, 1), read(2, "x", "1", 2, 3)])).toBe("ok")
  })

  test("a read overlapping a write may see the old or the new value", () => {
    expect(kind([write(1, "x", "1", 0, 10), read(2, "x", null, 1, 2)])).toBe("ok")
    expect(kind([write(1, "x", "1", 0, 10), read(2, "x", "1", 1, 2)])).toBe("ok")
  })

  test("concurrent writes are ordered either way, consistently", () => {
    const ws = [write(1, "x", "a", 0, 10), write(2, "x", "b", 0, 10)]
    expect(kind([...ws, read(3, "x", "a", 11, 12), read(3, "x", "a", 13, 14)])).toBe("ok")
    expect(kind([...ws, read(3, "x", "b", 11, 12), read(3, "x", "b", 13, 14)])).toBe("ok")
  })

  test("overlapping reads that observe a write in flight", () => {
    const ops = [
      write(1, "x", "1", 0, 20),
      read(2, "x", null, 1, 5),
      read(3, "x", "1", 3, 8),
      read(2, "x", "1", 9, 12),
    ]
    expect(kind(ops)).toBe("ok")
  })

  test("an indeterminate write that took effect", () => {
    expect(kind([write(1, "x", "1", 0), read(2, "x", "1", 5, 6)])).toBe("ok")
  })

  test("an indeterminate write that never took effect", () => {
    expect(kind([write(1, "x", "1", 0), read(2, "x", null, 5, 6), read(2, "x", null, 7, 8)])).toBe("ok")
  })

  test("an indeterminate write that took effect long after its call", () => {
    expect(kind([write(1, "x", "1", 0), read(2, "x", null, 5, 6), read(2, "x", "1", 100, 101)])).toBe("ok")
  })

  test("compare-and-set chain, including a failed CAS and an absent-key CAS", () => {
    const ops = [
      cas(1, "x", null, "a", 0, 1, true),
      cas(2, "x", "a", "b", 2, 3, true),
      cas(1, "x", "a", "c", 4, 5, false),
      read(3, "x", "b", 6, 7),
    ]
    expect(kind(ops)).toBe("ok")
  })

  test("two concurrent CAS from the same value: exactly one wins", () => {
    const ops = [
      write(1, "x", "0", 0, 1),
      cas(2, "x", "0", "1", 2, 5, true),
      cas(3, "x", "0", "2", 2, 5, false),
      read(1, "x", "1", 6, 7),
    ]
    expect(kind(ops)).toBe("ok")
  })

  test("keys are independent", () => {
    const ops = [
      write(1, "x", "1", 0, 1),
      write(2, "y", "2", 0, 1),
      read(3, "x", "1", 2, 3),
      read(3, "y", "2", 2, 3),
    ]
    expect(kind(ops)).toBe("ok")
  })

  test("an indeterminate read constrains nothing", () => {
    const unanswered: KvOperation = {
      id: 999,
      client: 4,
      input: { op: "read", key: "x" },
      output: null,
      call: 0,
      ret: Infinity,
    }
    expect(kind([write(1, "x", "1", 0, 1), unanswered])).toBe("ok")
  })
})

describe("linearizability checker rejects invalid histories", () => {
  test("stale read", () => {
    const ops = [write(1, "x", "1", 0, 1), write(1, "x", "2", 2, 3), read(2, "x", "1", 4, 5)]
    const result = checkKvHistory(ops)
    expect(result.kind).toBe("illegal")
    if (result.kind === "illegal") {
      expect(result.key).toBe("x")
      expect(result.info).toContain("read(x)")
    }
  })

  test("lost write", () => {
    expect(kind([write(1, "x", "1", 0, 1), read(2, "x", null, 2, 3)])).toBe("illegal")
  })

  test("CAS anomaly: two concurrent CAS from the same expected value both succeed", () => {
    const ops = [
      write(1, "x", "0", 0, 1),
      cas(2, "x", "0", "1", 2, 5, true),
      cas(3, "x", "0", "2", 2, 5, true),
    ]
    expect(kind(ops)).toBe("illegal")
  })

  test("read of a value that was never written", () => {
    expect(kind([write(1, "x", "1", 0, 1), read(2, "x", "7", 2, 3)])).toBe("illegal")
  })

  test("read of a value written only after the read returned", () => {
    expect(kind([read(2, "x", "1", 0, 1), write(1, "x", "1", 2)])).toBe("illegal")
  })

  test("an indeterminate write cannot be undone once observed", () => {
    const ops = [write(1, "x", "1", 0), read(2, "x", "1", 5, 6), read(2, "x", null, 7, 8)]
    expect(kind(ops)).toBe("illegal")
  })

  test("a failed CAS whose expected value was current is illegal", () => {
    expect(kind([write(1, "x", "a", 0, 1), cas(2, "x", "a", "b", 2, 3, false)])).toBe("illegal")
  })

  test("the violation is reported on the failing key only, shrunk to what matters", () => {
    const ops = [
      write(1, "ok", "1", 0, 1),
      read(2, "ok", "1", 2, 3),
      write(1, "bad", "1", 0, 1),
      read(3, "bad", "1", 2, 3),
      read(3, "bad", "1", 4, 5),
      write(1, "bad", "2", 6, 7),
      read(2, "bad", "1", 8, 9),
    ]
    const result = checkKvHistory(ops)
    expect(result.kind).toBe("illegal")
    if (result.kind !== "illegal") return
    expect(result.key).toBe("bad")
    // The two early reads are irrelevant and shrink away; the writes and the stale read stay.
    expect(result.info).toContain("no linearization of 3 operations (of 5 on this key)")
  })

  test("a violation early in a long history is reported as a short prefix", () => {
    const ops = [write(1, "x", "1", 0, 1), write(1, "x", "2", 2, 3), read(2, "x", "1", 4, 5)]
    for (let i = 0; i < 100; i++) {
      ops.push(write(1, "x", `v${i}`, 10 + 4 * i, 11 + 4 * i))
      ops.push(read(2, "x", `v${i}`, 12 + 4 * i, 13 + 4 * i))
    }
    const result = checkKvHistory(ops)
    expect(result.kind).toBe("illegal")
    if (result.kind === "illegal") expect(result.info).toContain("no linearization of 3 operations (of 203")
  })
})

describe("linearizability checker budget", () => {
  test("answers unknown instead of searching forever", () => {
    // 24 fully concurrent writes, then a read of a value nobody wrote: 2^24 subsets to refute.
    const ops: KvOperation[] = []
    for (let i = 0; i < 24; i++) ops.push(write(i, "x", `v${i}`, 0, 100))
    ops.push(read(99, "x", "never", 101, 102))
    expect(checkKvHistory(ops, { maxSteps: 50_000 }).kind).toBe("unknown")
  })

  test("an expired deadline predicate also yields unknown", () => {
    const ops: KvOperation[] = []
    for (let i = 0; i < 24; i++) ops.push(write(i, "x", `v${i}`, 0, 100))
    ops.push(read(99, "x", "never", 101, 102))
    expect(checkKvHistory(ops, { maxSteps: Number.MAX_SAFE_INTEGER, expired: () => true }).kind).toBe(
      "unknown",
    )
  })

  test("rejects malformed operations loudly", () => {
    const bad: KvOperation = { ...write(1, "x", "1", 0, 1), ret: Infinity }
    expect(() => checkKvHistory([bad])).toThrow()
  })
})
