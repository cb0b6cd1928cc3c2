/** The `bun:sqlite` implementation of the SQLite driver contract. */
import { Database, type Statement } from "bun:sqlite"
import type {
  OpenOptions,
  SqliteDatabase,
  SqliteDriverImpl,
  SqliteStatement,
  SqlRow,
  SqlValue,
} from "./driver.ts"
import { cachedStatement, configuredOrClosed, runImmediateTransaction } from "./transaction.ts"

type CachedStatement = SqliteStatement & { readonly finalize: () => void }

const wrapStatement = (stmt: Statement): CachedStatement => ({
  finalize: () => stmt.finalize(),
  run: (...params: SqlValue[]) => {
    const r = stmt.run(...(params as never[]))
    return { changes: r.changes, lastInsertRowid: r.lastInsertRowid }
  },
  get: (...params: SqlValue[]) => (stmt.get(...(params as never[])) as SqlRow | null) ?? undefined,
  all: (...params: SqlValue[]) => stmt.all(...(params as never[])) as SqlRow[],
  iterate: (...params: SqlValue[]) => stmt.iterate(...(params as never[])) as IterableIterator<SqlRow>,
})

export const bunSqliteDriver: SqliteDriverImpl = {
  name: "bun:sqlite",
  open(path: string, options: OpenOptions): SqliteDatabase {
    const db = new Database(path, {
      create: !options.readonly,
      readonly: options.readonly ?? false,
      safeIntegers: true,
      strict: true,
    })
    const cache = new Map<string, CachedStatement>()
    const handle: SqliteDatabase = {
      path,
      exec: (sql) => {
        db.exec(sql)
      },
      prepare: (sql) => cachedStatement(cache, sql, (text) => wrapStatement(db.prepare(text))),
      transaction: <T>(fn: () => T): T =>
        runImmediateTransaction(
          (sql) => db.exec(sql),
          () => db.inTransaction,
          fn,
        ),
      inTransaction: () => db.inTransaction,
      pragma: (name) => {
        const stmt = db.prepare(`PRAGMA ${name}`)
        const row = stmt.get() as Record<string, SqlValue> | null
        stmt.finalize()
        return row === null ? null : (Object.values(row)[0] ?? null)
      },
      close: () => {
        // Unfinalized statements would keep the connection alive as a zombie: no WAL
        // checkpoint on close, and the -wal file left behind.
        for (const stmt of cache.values()) stmt.finalize()
        cache.clear()
        db.close()
      },
    }
    return configuredOrClosed(handle, options, () => db.close())
  },
}
