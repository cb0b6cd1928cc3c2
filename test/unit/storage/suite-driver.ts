/** Driver contract: pragmas read back, 64-bit integers, blobs, statements, transactions. */
import assert from "node:assert/strict"
import { join } from "node:path"
import { Effect, Exit, Layer } from "effect"
import type { SqliteDatabase, SqlValue } from "../../../src/storage/driver.ts"
import { assertSynchronous, configureDatabase, DurabilityError } from "../../../src/storage/pragmas.ts"
import { openDatabase, SqliteDriver, StorageError } from "../../../src/storage/service.ts"
import { bytes, type Harness, tempDir, withDb } from "./harness.ts"

export const driverSuite = (h: Harness): void => {
  const { driver, test } = h

  test(`${driver.name}: open sets WAL, synchronous FULL and incremental auto-vacuum`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      assert.equal(String(db.pragma("journal_mode")).toLowerCase(), "wal")
      assert.equal(Number(db.pragma("synchronous")), 2)
      assert.equal(Number(db.pragma("auto_vacuum")), 2)
    }))

  test(`${driver.name}: EXTRA is honoured and read back`, () =>
    withDb(driver, ({ path }) => {
      const db = driver.open(path, { synchronous: "EXTRA" })
      try {
        assert.equal(Number(db.pragma("synchronous")), 3)
      } finally {
        db.close()
      }
    }))

  test(`${driver.name}: 64-bit integers come back exact as bigint, blobs as Uint8Array`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB, s TEXT)")
      const big = 9_007_199_254_740_993n // 2^53 + 1: a JS number cannot hold it
      db.prepare("INSERT INTO t VALUES (?, ?, ?)").run(big, bytes(0, 1, 255), "x")
      const row = db.prepare("SELECT k, v, s FROM t").get()
      assert.ok(row !== undefined)
      assert.equal(row.k, big)
      assert.ok(row.v instanceof Uint8Array)
      assert.deepEqual([...(row.v as Uint8Array)], [0, 1, 255])
      assert.equal(row.s, "x")
      assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 1n)
    }))

  test(`${driver.name}: run reports changes, iterate streams, statements are cached`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)")
      const insert = db.prepare("INSERT INTO t VALUES (?)")
      assert.equal(insert, db.prepare("INSERT INTO t VALUES (?)"))
      for (let i = 1; i <= 5; i++) assert.equal(insert.run(i).changes, 1)
      assert.equal(db.prepare("DELETE FROM t WHERE k > ?").run(3).changes, 2)
      const seen: SqlValue[] = []
      for (const row of db.prepare("SELECT k FROM t ORDER BY k").iterate()) seen.push(row.k!)
      assert.deepEqual(seen, [1n, 2n, 3n])
    }))

  test(`${driver.name}: transaction commits, and rolls back when the body throws`, () =>
    withDb(driver, ({ open }) => {
      const db = open()
      db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)")
      assert.equal(
        db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run(1).changes),
        1,
      )
      assert.throws(() =>
        db.transaction(() => {
          db.prepare("INSERT INTO t VALUES (?)").run(2)
          throw new Error("boom")
        }),
      )
      assert.deepEqual(
        db
          .prepare("SELECT k FROM t")
          .all()
          .map((r) => r.k),
        [1n],
      )
      // the connection is usable again after a rollback
      db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run(3))
      assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 2n)
    }))

  test(`${driver.name}: data survives close and reopen`, () =>
    withDb(driver, ({ open }) => {
      const a = open()
      a.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)")
      a.prepare("INSERT INTO t VALUES (?)").run(42)
      a.close()
      assert.equal(open().prepare("SELECT k FROM t").get()?.k, 42n)
    }))

  test("assertSynchronous: a weaker read-back mode is refused, an equal or stronger one accepted", () => {
    assert.throws(() => assertSynchronous("x.db", "FULL", 1n), DurabilityError)
    assert.throws(() => assertSynchronous("x.db", "FULL", 0), /synchronous=OFF but FULL is required/)
    assert.throws(() => assertSynchronous("x.db", "NORMAL", null), DurabilityError)
    assert.doesNotThrow(() => assertSynchronous("x.db", "FULL", 2n))
    assert.doesNotThrow(() => assertSynchronous("x.db", "FULL", 3))
    assert.doesNotThrow(() => assertSynchronous("x.db", "NORMAL", 2n))
  })

  test(`${driver.name}: start-up refuses a connection that cannot give the configured synchronous mode`, () =>
    withDb(driver, ({ path }) => {
      const db = driver.open(path, { synchronous: "NORMAL" })
      try {
        // A real connection whose synchronous setting silently stays at NORMAL.
        const stuck: SqliteDatabase = {
          ...db,
          path: db.path,
          exec: (sql) => {
            if (!/^PRAGMA synchronous/i.test(sql)) db.exec(sql)
          },
        }
        assert.throws(
          () => configureDatabase(stuck, { synchronous: "FULL" }),
          (e: unknown) =>
            e instanceof DurabilityError && e.message.includes("synchronous=NORMAL but FULL is required"),
        )
        assert.doesNotThrow(() => configureDatabase(stuck, { synchronous: "NORMAL" }))
      } finally {
        db.close()
      }
    }))

  test(`${driver.name}: openDatabase closes the database when its scope ends`, async () => {
    const { dir, cleanup } = tempDir()
    try {
      const layer = Layer.succeed(SqliteDriver, driver)
      const path = join(dir, "scoped.db")
      let handle: SqliteDatabase | undefined
      await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            handle = yield* openDatabase(path, { synchronous: "FULL" })
            handle.exec("CREATE TABLE t (k INTEGER)")
          }),
        ).pipe(Effect.provide(layer)),
      )
      assert.ok(handle !== undefined)
      assert.throws(() => handle!.exec("SELECT 1"))
      const exit = await Effect.runPromiseExit(
        Effect.scoped(openDatabase(join(dir, "missing", "x.db"), { synchronous: "FULL" })).pipe(
          Effect.provide(layer),
        ),
      )
      assert.ok(Exit.isFailure(exit))
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.ok(failure instanceof StorageError)
      assert.match(failure.message, /cannot open the database .*Check that the data directory exists/)
    } finally {
      cleanup()
    }
  })
}
