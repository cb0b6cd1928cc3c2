/**
 * Commit windows (`commitWindows`): applies wait in one open transaction until `commitWindow`.
 * Another connection sees them only once committed; a crash loses only the window, which the
 * Raft log applies again to the same state; a failed batch inside a window rolls back alone.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type KvCommand, KvError } from "../../../schemas/kv.ts"
import { type CommittedEntry, KvStateMachine } from "../../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import type { SqliteDatabase } from "../../../src/storage/driver.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const put = (key: string, value: string): KvCommand => ({
  type: "put",
  request: { key: enc(key), value: enc(value) },
})
/** Entries `from`..`to`: puts over 7 keys, and a delete every fifth. */
const entries = (from: number, to: number): CommittedEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => {
    const index = from + i
    const command: KvCommand =
      index % 5 === 0
        ? { type: "deleteRange", request: { key: enc(`k${index % 7}`) } }
        : put(`k${index % 7}`, `v${index}`)
    return { index, command }
  })

/** How many versions of `key` a range at the current revision finds. */
const keysAt = (sm: KvStateMachine, key: string): number => {
  const r = sm.range({ key: enc(key) })
  if (r instanceof KvError) throw r
  return r.kvs.length
}

const committedRevision = (reader: SqliteDatabase): number =>
  Number(reader.prepare("SELECT revision FROM kv_1_state WHERE id = 0").get()?.revision)

const withDir = async (fn: (dir: string) => Promise<void> | void) => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-window-"))
  try {
    await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const open = (path: string, commitWindows: boolean) =>
  KvStateMachine.open(bunSqliteDriver.open(path, { synchronous: "NORMAL" }), { group: 1, commitWindows })

/** The state a machine without windows reaches with the same entries. */
const referenceHash = (dir: string, to: number): number => {
  const ref = open(join(dir, `ref-${to}.db`), false)
  ref.applyBatch(entries(1, to))
  const hash = ref.hash()
  ref.db.close()
  return hash
}

describe("KV state machine: commit windows", () => {
  test("applies are seen by another connection only once the window is committed", () =>
    withDir((dir) => {
      const path = join(dir, "kv.db")
      const sm = open(path, true)
      const reader = bunSqliteDriver.open(path, { synchronous: "NORMAL", readonly: true })
      sm.applyBatch(entries(1, 4))
      sm.applyBatch(entries(5, 9))
      expect(sm.uncommitted).toBe(true)
      // This connection reads its own window; the other one still sees the empty store.
      expect(keysAt(sm, "k1")).toBe(1)
      expect(committedRevision(reader)).toBe(1)
      sm.commitWindow()
      expect(sm.uncommitted).toBe(false)
      expect(committedRevision(reader)).toBe(sm.revision)
      reader.close()
      sm.db.close()
    }))

  test("a crash loses only the open window, and applying its entries again gives the same state", () =>
    withDir((dir) => {
      const path = join(dir, "kv.db")
      const sm = open(path, true)
      sm.applyBatch(entries(1, 6))
      sm.commitWindow()
      sm.applyBatch(entries(7, 12))
      sm.applyBatch(entries(13, 20))
      // Closing the connection with the window open is what a SIGKILL leaves: no COMMIT.
      sm.db.close()
      const again = open(path, true)
      expect(again.appliedIndex).toBe(6)
      again.applyBatch(entries(7, 20))
      again.commitWindow()
      expect(again.appliedIndex).toBe(20)
      expect(again.hash()).toBe(referenceHash(dir, 20))
      again.db.close()
    }))

  test("a failed batch inside a window rolls back alone; the batches before it stay", () =>
    withDir((dir) => {
      const path = join(dir, "kv.db")
      const sm = open(path, true)
      sm.applyBatch(entries(1, 5))
      const revision = sm.revision
      // The second entry repeats an applied index: the batch throws after its first put was written.
      const bad = [
        { index: 6, command: put("k-bad", "x") },
        { index: 3, command: put("k-bad", "y") },
      ]
      expect(() => sm.applyBatch(bad)).toThrow(/at or below the applied index/)
      expect(sm.appliedIndex).toBe(5)
      expect(sm.revision).toBe(revision)
      expect(keysAt(sm, "k-bad")).toBe(0)
      // The window still holds entries 1-5 and goes on.
      sm.applyBatch(entries(6, 10))
      sm.commitWindow()
      sm.db.close()
      const again = open(path, true)
      expect(again.appliedIndex).toBe(10)
      expect(again.hash()).toBe(referenceHash(dir, 10))
      again.db.close()
    }))

  test("a snapshot commits the window first and holds everything applied", async () =>
    withDir(async (dir) => {
      const sm = open(join(dir, "kv.db"), true)
      sm.applyBatch(entries(1, 9))
      expect(sm.uncommitted).toBe(true)
      const chunks = [...sm.snapshot()]
      expect(sm.uncommitted).toBe(false)
      const copy = open(join(dir, "copy.db"), true)
      copy.applyBatch(entries(1, 2))
      // A restore commits the copy's own window before replacing its state.
      await copy.restore(chunks)
      expect(copy.appliedIndex).toBe(9)
      expect(copy.hash()).toBe(referenceHash(dir, 9))
      // Applying goes on after the snapshot, in a new window.
      sm.applyBatch(entries(10, 12))
      expect(sm.uncommitted).toBe(true)
      sm.closeWindow()
      expect(sm.uncommitted).toBe(false)
      sm.db.close()
      copy.db.close()
    }))
})
