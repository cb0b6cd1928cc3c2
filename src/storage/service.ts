/**
 * The Effect face of the storage layer, kept thin: a `SqliteDriver` service with one layer per
 * driver, and a scoped `openDatabase` that closes the database when its scope ends. The hot
 * path (log store, group commit) stays synchronous underneath.
 *
 * The layers import their driver lazily, so this module loads on Deno (no `bun:sqlite` there)
 * and on Bun alike.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { OpenOptions, SqliteDatabase, SqliteDriverImpl } from "./driver.ts"
import { StorageError } from "./errors.ts"

export { CorruptionError, StorageError } from "./errors.ts"

export class SqliteDriver extends Context.Tag("lattice/SqliteDriver")<SqliteDriver, SqliteDriverImpl>() {}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const driverLayer = (
  name: string,
  load: () => Promise<SqliteDriverImpl>,
): Layer.Layer<SqliteDriver, StorageError> =>
  Layer.effect(
    SqliteDriver,
    Effect.tryPromise({
      try: load,
      catch: (error) =>
        new StorageError({
          file: "",
          message: `the ${name} driver is not available in this runtime (${describe(error)}); use the other SQLite driver layer`,
        }),
    }),
  )

export const BunSqliteDriverLive = driverLayer(
  "bun:sqlite",
  async () => (await import("./bun-sqlite.ts")).bunSqliteDriver,
)

export const NodeSqliteDriverLive = driverLayer(
  "node:sqlite",
  async () => (await import("./node-sqlite.ts")).nodeSqliteDriver,
)

/** Opens a database for the life of the current scope (closed on release, even on failure). */
export const openDatabase = (
  path: string,
  options: OpenOptions,
): Effect.Effect<SqliteDatabase, StorageError, SqliteDriver | Scope.Scope> =>
  Effect.flatMap(SqliteDriver, (driver) =>
    Effect.acquireRelease(
      Effect.try({
        try: () => driver.open(path, options),
        catch: (error) =>
          new StorageError({
            file: path,
            message:
              `${path}: cannot open the database with ${driver.name} (${describe(error)}). ` +
              "Check that the data directory exists and is writable, that no other node uses this file, " +
              "and that the synchronous setting can be honoured.",
          }),
      }),
      (db) => Effect.sync(() => db.close()),
    ),
  )
