import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { decodeKvSnapshot, encodeKvSnapshot } from "../../../actors/snapshot-data.ts"
import { KvStateMachine } from "../../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"

const enc = (s: string) => new TextEncoder().encode(s)

describe("KV snapshot data in a Raft snapshot", () => {
  test("round-trips a state machine through encode/decode and restore", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-snapdata-"))
    try {
      const a = KvStateMachine.open(bunSqliteDriver.open(join(dir, "a.db"), { synchronous: "FULL" }), {
        group: 1,
      })
      const b = KvStateMachine.open(bunSqliteDriver.open(join(dir, "b.db"), { synchronous: "FULL" }), {
        group: 1,
      })
      for (let i = 1; i <= 50; i++)
        a.apply(i, { type: "put", request: { key: enc(`k${i}`), value: enc(`v${i}`) } })
      const data = encodeKvSnapshot(a)
      expect([...decodeKvSnapshot(data)].length).toBeGreaterThan(1)
      await b.restore(decodeKvSnapshot(data))
      expect(b.appliedIndex).toBe(50)
      expect(b.hash()).toBe(a.hash())
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("refuses truncated data", () => {
    const bad = new Uint8Array([0, 0, 0, 9, 1, 2])
    expect(() => [...decodeKvSnapshot(bad)]).toThrow("truncated")
  })
})
