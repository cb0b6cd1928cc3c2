/**
 * Durability settings shared by both drivers: WAL, the requested synchronous mode, and an
 * incremental auto-vacuum so space is reclaimed in small online steps. The synchronous mode
 * is read back: a database that reports a weaker mode than requested is refused, never used.
 */
import type { OpenOptions, SqliteDatabase, SqlValue, SynchronousMode } from "./driver.ts"

const SYNC_LEVEL: Record<SynchronousMode, number> = { OFF: 0, NORMAL: 1, FULL: 2, EXTRA: 3 }

export class DurabilityError extends Error {
  override readonly name = "DurabilityError"
}

const levelName = (level: number): string =>
  Object.entries(SYNC_LEVEL).find(([, v]) => v === level)?.[0] ?? String(level)

/**
 * The start-up check on its own: throws when the synchronous level SQLite reports (as read
 * back with `PRAGMA synchronous`) is weaker than `required`. Separate so it can be tested
 * with both outcomes without a connection that misbehaves.
 */
export const assertSynchronous = (path: string, required: SynchronousMode, reported: SqlValue): void => {
  const actual = typeof reported === "bigint" || typeof reported === "number" ? Number(reported) : Number.NaN
  if (actual >= SYNC_LEVEL[required]) return
  throw new DurabilityError(
    `${path}: SQLite reports synchronous=${Number.isNaN(actual) ? String(reported) : levelName(actual)} but ` +
      `${required} is required by [storage] sync_on_write; refusing to run with weaker durability than configured. ` +
      "Check that nothing (a compile-time SQLITE_DEFAULT_SYNCHRONOUS, another process) forces a weaker mode, " +
      "or lower [storage] sync_on_write knowingly.",
  )
}

export const configureDatabase = (db: SqliteDatabase, options: OpenOptions): void => {
  if (options.readonly) return
  // auto_vacuum only takes effect on an empty database (before the first table); harmless later.
  db.exec("PRAGMA auto_vacuum = INCREMENTAL")
  const journal = String(db.pragma("journal_mode = WAL")).toLowerCase()
  if (journal !== "wal") {
    throw new DurabilityError(`${db.path}: SQLite refused WAL journal mode (got "${journal}")`)
  }
  db.exec(`PRAGMA synchronous = ${options.synchronous}`)
  db.exec("PRAGMA busy_timeout = 5000")
  db.exec("PRAGMA foreign_keys = ON")
  assertSynchronous(db.path, options.synchronous, db.pragma("synchronous"))
}
