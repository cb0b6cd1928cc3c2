/**
 * The on-disk format version of each database file, kept in SQLite's `PRAGMA user_version`.
 * A newer binary migrates an older file (one step at a time, each in a transaction); a file
 * written by a newer binary (a version this one does not know) is refused with what to do, before
 * anything in it is touched. A file from before versioning (user_version 0 but tables present)
 * is format 1.
 *
 * History:
 * - raft.db  1: log tables without a version stamp; 2: stamped (no layout change).
 * - kv-<g>.db 1: KV tables without a version stamp; 2: stamped (no layout change); 3: rows keyed
 *   by revision (`kv_<g>_mvcc`) instead of by key (`kv_<g>_rows`). Its spec, `KV_DB_FORMAT`, is in
 *   src/kv/format.ts, next to the tables it migrates.
 */
import * as Data from "effect/Data"
import type { SqliteDatabase } from "./driver.ts"

export class FormatVersionError extends Data.TaggedError("FormatVersionError")<{
  readonly message: string
  readonly file: string
  readonly found: number
  readonly supported: number
}> {}

export interface Migration {
  /** Migrates format `from` to `from + 1`. */
  readonly from: number
  readonly run: (db: SqliteDatabase) => void
}

export interface FormatSpec {
  /** "Raft log" or "state machine": for messages. */
  readonly what: string
  readonly current: number
  readonly migrations: readonly Migration[]
}

export const RAFT_DB_FORMAT: FormatSpec = {
  what: "Raft log",
  current: 2,
  migrations: [{ from: 1, run: () => {} }],
}

const hasTables = (db: SqliteDatabase): boolean =>
  Number(
    db
      .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .get()?.n ?? 0,
  ) > 0

/** The file's format: its stamp, 1 for an unstamped file with tables, null for a new (empty) file. */
export const formatOf = (db: SqliteDatabase): number | null => {
  const v = Number(db.pragma("user_version"))
  if (v !== 0) return v
  return hasTables(db) ? 1 : null
}

/**
 * Refuses a file from the future; migrates an older one; stamps a new one. Call it before the
 * caller creates or reads its tables. Returns the format the file had (null when new).
 */
export const ensureFormat = (db: SqliteDatabase, spec: FormatSpec): number | null => {
  const found = formatOf(db)
  if (found !== null && found > spec.current)
    throw new FormatVersionError({
      file: db.path,
      found,
      supported: spec.current,
      message:
        `${db.path}: ${spec.what} format version ${found} was written by a newer lattice; this binary ` +
        `reads versions up to ${spec.current}. Run the newer lattice on this data directory (an upgrade ` +
        "cannot be rolled back in place), or remove this node from the cluster (lattice admin remove-node), " +
        "clear its data directory and add it back (lattice admin add-node) so it catches up by snapshot.",
    })
  if (found !== null && found < 1)
    throw new FormatVersionError({
      file: db.path,
      found,
      supported: spec.current,
      message: `${db.path}: ${spec.what} format version ${found} is not a lattice format; is this the right file?`,
    })
  let v = found ?? spec.current
  while (v < spec.current) {
    const step = spec.migrations.find((m) => m.from === v)
    if (step === undefined)
      throw new FormatVersionError({
        file: db.path,
        found: v,
        supported: spec.current,
        message: `${db.path}: no migration of the ${spec.what} from format ${v}; upgrade through an intermediate lattice release first`,
      })
    db.exec("BEGIN IMMEDIATE")
    try {
      step.run(db)
      db.exec(`PRAGMA user_version = ${v + 1}`)
      db.exec("COMMIT")
    } catch (e) {
      db.exec("ROLLBACK")
      throw e
    }
    v++
  }
  if (found === null) db.exec(`PRAGMA user_version = ${spec.current}`)
  return found
}
