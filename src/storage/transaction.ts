/** Helpers shared by both SQLite drivers, so the two behave the same by construction. */
import type { OpenOptions, SqliteDatabase } from "./driver.ts"
import { configureDatabase } from "./pragmas.ts"

/** Runs `fn` in BEGIN IMMEDIATE … COMMIT; rolls back if it throws. */
export const runImmediateTransaction = <T>(
  exec: (sql: string) => void,
  inTransaction: () => boolean,
  fn: () => T,
): T => {
  exec("BEGIN IMMEDIATE")
  try {
    const result = fn()
    exec("COMMIT")
    return result
  } catch (error) {
    if (inTransaction()) exec("ROLLBACK")
    throw error
  }
}

/** Applies the durability settings; closes the connection if they cannot be had. */
export const configuredOrClosed = (
  handle: SqliteDatabase,
  options: OpenOptions,
  close: () => void,
): SqliteDatabase => {
  try {
    configureDatabase(handle, options)
  } catch (error) {
    close()
    throw error
  }
  return handle
}

/** Prepares each SQL text once per connection; both drivers cache statements the same way. */
export const cachedStatement = <S>(cache: Map<string, S>, sql: string, prepare: (sql: string) => S): S => {
  let stmt = cache.get(sql)
  if (stmt === undefined) {
    stmt = prepare(sql)
    cache.set(sql, stmt)
  }
  return stmt
}
