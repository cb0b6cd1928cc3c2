import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { checkpointOffThread } from "../../../src/node/wal-checkpointer.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"

/** Runs `body` with a fresh temporary directory, removed afterwards. */
const inTempDir = async (body: (dir: string) => Promise<void>) => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-ckpt-"))
  try {
    await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const until = async (what: () => boolean, ms = 10_000) => {
  const end = performance.now() + ms
  while (!what()) {
    if (performance.now() > end) throw new Error("timed out")
    await Bun.sleep(20)
  }
}

describe("WAL checkpoints off the JS thread", () => {
  test("the connection stops checkpointing itself; the worker copies a large WAL into the file", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "a.db")
      const db = bunSqliteDriver.open(path, { synchronous: "NORMAL" })
      db.exec("CREATE TABLE t (v BLOB)")
      const release = checkpointOffThread(db, "NORMAL")
      expect(Number(db.pragma("wal_autocheckpoint"))).toBe(0)
      const blob = new Uint8Array(64 * 1024).fill(1)
      // 8 MB in the WAL: past the default 4 MiB threshold; only a checkpoint moves it into a.db.
      db.transaction(() => {
        for (let i = 0; i < 128; i++) db.prepare("INSERT INTO t (v) VALUES (?)").run(blob)
      })
      await until(() => statSync(path).size > 4 * 1024 * 1024)
      const rows = db.prepare("SELECT count(*) AS n FROM t").get()
      expect(Number(rows?.n)).toBe(128)
      await release()
      expect(Number(db.pragma("wal_autocheckpoint"))).toBe(1024)
      db.close()
    }))

  test("the threshold is the configured one (storage.max_wal_size_mb): 2 MB of WAL is checkpointed at 1 MiB", () =>
    inTempDir(async (dir) => {
      const path = join(dir, "c.db")
      const db = bunSqliteDriver.open(path, { synchronous: "NORMAL" })
      db.exec("CREATE TABLE t (v BLOB)")
      const release = checkpointOffThread(db, "NORMAL", () => {}, 1024 * 1024)
      const blob = new Uint8Array(64 * 1024).fill(1)
      // 2 MB: below the default threshold, past this one.
      db.transaction(() => {
        for (let i = 0; i < 32; i++) db.prepare("INSERT INTO t (v) VALUES (?)").run(blob)
      })
      await until(() => statSync(path).size > 1024 * 1024)
      await release()
      // Given back, SQLite's own checkpoint uses the same threshold: 256 pages of 4 KiB.
      expect(Number(db.pragma("wal_autocheckpoint"))).toBe(256)
      db.close()
    }))

  test("a database the worker cannot open gets its automatic checkpoint back, with the reason", () =>
    inTempDir(async (dir) => {
      const db = bunSqliteDriver.open(join(dir, "b.db"), { synchronous: "NORMAL" })
      // A handle whose path the worker cannot open (it never creates files).
      const elsewhere = { ...db, path: join(dir, "missing", "b.db") }
      let reason: string | null = null
      const release = checkpointOffThread(elsewhere, "NORMAL", (r) => {
        reason = r
      })
      await until(() => reason !== null)
      expect(Number(db.pragma("wal_autocheckpoint"))).toBe(1024)
      await release()
      db.close()
    }))
})
