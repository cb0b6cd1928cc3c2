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
import { configureDatabase } from "./pragmas.ts"

const wrapStatement = (stmt: Statement): SqliteStatement => ({
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
    const cache = new Map<string, SqliteStatement>()
    const handle: SqliteDatabase = {
      path,
      exec: (sql) => {
        db.exec(sql)
      },
      prepare: (sql) => {
        let stmt = cache.get(sql)
        if (stmt === undefined) {
          stmt = wrapStatement(db.prepare(sql))
          cache.set(sql, stmt)
        }
        return stmt
      },
      transaction: <T>(fn: () => T): T => {
        db.exec("BEGIN IMMEDIATE")
        try {
          const result = fn()
          db.exec("COMMIT")
          return result
        } catch (error) {
          if (db.inTransaction) db.exec("ROLLBACK")
          throw error
        }
      },
      pragma: (name) => {
        const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, SqlValue> | null
        return row === null ? null : (Object.values(row)[0] ?? null)
      },
      close: () => {
        cache.clear()
        db.close()
      },
    }
    configureDatabase(handle, options)
    return handle
  },
}
