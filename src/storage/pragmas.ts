/**
 * Durability settings shared by both drivers: WAL, the requested synchronous mode, and an
 * incremental auto-vacuum so space is reclaimed in small online steps. The synchronous mode
 * is read back: a database that reports a weaker mode than requested is refused, never used.
 */
import type { OpenOptions, SqliteDatabase, SynchronousMode } from "./driver.ts"

const SYNC_LEVEL: Record<SynchronousMode, number> = { OFF: 0, NORMAL: 1, FULL: 2, EXTRA: 3 }

export class DurabilityError extends Error {
  override readonly name = "DurabilityError"
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
  const actual = Number(db.pragma("synchronous"))
  const wanted = SYNC_LEVEL[options.synchronous]
  if (!(actual >= wanted)) {
    const name = Object.entries(SYNC_LEVEL).find(([, v]) => v === actual)?.[0] ?? String(actual)
    throw new DurabilityError(
      `${db.path}: SQLite reports synchronous=${name} but ${options.synchronous} is required by [storage] sync_on_write; ` +
        "refusing to run with weaker durability than configured",
    )
  }
}
