/**
 * The wal-index reader against a real WAL-mode database: frames written and not yet
 * checkpointed are counted, a checkpoint brings the count back to zero, and it counts again
 * after SQLite reuses the (unshrunk) WAL file from its start.
 */
import { Database } from "bun:sqlite"
import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pendingFrames, WalIndexReader } from "../../../src/storage/wal-index.ts"

const dir = mkdtempSync(join(tmpdir(), "lattice-wal-index-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test("pending frames follow writes and checkpoints; the -wal file size does not", () => {
  const path = join(dir, "t.db")
  const db = new Database(path)
  db.exec("PRAGMA journal_mode = WAL")
  db.exec("PRAGMA wal_autocheckpoint = 0")
  db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
  const reader = new WalIndexReader(`${path}-shm`)
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)")
  const write = (rows: number) =>
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(new Uint8Array(3000))
    })()

  write(200)
  const afterWrites = reader.pending()
  expect(afterWrites).toBeGreaterThan(150) // about one 4 KiB page per 3000-byte row
  const [busy, log, checkpointed] = Object.values(db.query("PRAGMA wal_checkpoint(PASSIVE)").get() as object)
  expect(busy).toBe(0)
  expect(log).toBe(checkpointed)
  expect(reader.pending()).toBe(0)
  const walSize = statSync(`${path}-wal`).size
  expect(walSize).toBeGreaterThan(150 * 4096)

  // The next writer restarts the WAL from its start: the file keeps its size, the count is small.
  write(5)
  const afterRestart = reader.pending()
  expect(afterRestart).toBeGreaterThan(0)
  expect(afterRestart).toBeLessThan(20)
  expect(statSync(`${path}-wal`).size).toBe(walSize)
  reader.close()
  db.close()
})

test("a missing wal-index reads as unknown, a short header as nothing pending", () => {
  expect(new WalIndexReader(join(dir, "absent.db-shm")).pending()).toBeNull()
  expect(pendingFrames(new Uint8Array(10))).toBe(0)
})

test("a wal-index recreated under the reader is reopened", () => {
  const path = join(dir, "r.db")
  const open = () => {
    const db = new Database(path)
    db.exec("PRAGMA journal_mode = WAL")
    db.exec("PRAGMA wal_autocheckpoint = 0")
    db.exec("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)")
    return db
  }
  const reader = new WalIndexReader(`${path}-shm`)
  let db = open()
  db.exec("INSERT INTO t (v) VALUES (zeroblob(3000))")
  expect(reader.pending()).toBeGreaterThan(0)
  db.close() // the last connection: SQLite checkpoints and deletes -wal and -shm
  db = open()
  const insert = db.prepare("INSERT INTO t (v) VALUES (zeroblob(3000))")
  for (let i = 0; i < 50; i++) insert.run()
  let seen = 0
  for (let i = 0; i < 25; i++) seen = reader.pending() ?? -1
  expect(seen).toBeGreaterThan(40)
  reader.close()
  db.close()
})
