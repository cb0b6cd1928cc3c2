/**
 * The `node:sqlite` implementation of the SQLite driver contract (`DatabaseSync`). It serves
 * Deno 2, and also runs under Bun, so both drivers pass the same suite on both runtimes.
 * Behaviour matches `bun-sqlite.ts`: 64-bit integers read as bigint, BEGIN IMMEDIATE
 * transactions, a per-connection statement cache, and the pragmas of `configureDatabase`.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite"
import type {
  OpenOptions,
  SqliteDatabase,
  SqliteDriverImpl,
  SqliteStatement,
  SqlRow,
  SqlValue,
} from "./driver.ts"
import { cachedStatement, configuredOrClosed, runImmediateTransaction } from "./transaction.ts"

type NodeParams = Parameters<StatementSync["run"]>

const wrapStatement = (stmt: StatementSync): SqliteStatement => {
  stmt.setReadBigInts(true)
  return {
    run: (...params: SqlValue[]) => {
      const r = stmt.run(...(params as NodeParams))
      return { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid }
    },
    get: (...params: SqlValue[]) => stmt.get(...(params as NodeParams)) as SqlRow | undefined,
    all: (...params: SqlValue[]) => stmt.all(...(params as NodeParams)) as SqlRow[],
    iterate: (...params: SqlValue[]) =>
      stmt.iterate(...(params as NodeParams)) as unknown as IterableIterator<SqlRow>,
  }
}

export const nodeSqliteDriver: SqliteDriverImpl = {
  name: "node:sqlite",
  open(path: string, options: OpenOptions): SqliteDatabase {
    const db = new DatabaseSync(path, {
      readOnly: options.readonly ?? false,
      // Same wait as bun's `PRAGMA busy_timeout = 5000` in configureDatabase.
      timeout: 5000,
    })
    const cache = new Map<string, SqliteStatement>()
    const handle: SqliteDatabase = {
      path,
      exec: (sql) => {
        db.exec(sql)
      },
      prepare: (sql) => cachedStatement(cache, sql, (text) => wrapStatement(db.prepare(text))),
      transaction: <T>(fn: () => T): T =>
        runImmediateTransaction(
          (sql) => db.exec(sql),
          () => db.isTransaction,
          fn,
        ),
      inTransaction: () => db.isTransaction,
      pragma: (name) => {
        const stmt = db.prepare(`PRAGMA ${name}`)
        stmt.setReadBigInts(true)
        const row = stmt.get() as Record<string, SqlValue> | undefined
        return row === undefined ? null : (Object.values(row)[0] ?? null)
      },
      close: () => {
        cache.clear()
        db.close()
      },
    }
    return configuredOrClosed(handle, options, () => db.close())
  },
}
