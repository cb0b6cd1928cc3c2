/** Helpers shared by both SQLite drivers, so the two behave the same by construction. */
import type { OpenOptions, SqliteDatabase } from "./driver.ts"
import { configureDatabase } from "./pragmas.ts"

/**
 * Runs `fn` in BEGIN IMMEDIATE … COMMIT; rolls back if it throws. Inside an open transaction
 * (the KV state machine's commit window) it runs in a savepoint instead.
 */
export const runImmediateTransaction = <T>(
  exec: (sql: string) => void,
  inTransaction: () => boolean,
  fn: () => T,
): T => {
  if (inTransaction()) return runInSavepoint(exec, inTransaction, fn)
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

/**
 * A failed `fn` rolls back to the savepoint and leaves the outer transaction open with what it
 * held before. If SQLite rolled the whole transaction back itself (an I/O error, a full disk),
 * there is no savepoint left to return to: the caller sees the original error and
 * `inTransaction()` false.
 */
const runInSavepoint = <T>(exec: (sql: string) => void, inTransaction: () => boolean, fn: () => T): T => {
  exec("SAVEPOINT nested")
  try {
    const result = fn()
    exec("RELEASE nested")
    return result
  } catch (error) {
    if (inTransaction()) {
      exec("ROLLBACK TO nested")
      exec("RELEASE nested")
    }
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
