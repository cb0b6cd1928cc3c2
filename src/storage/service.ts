/**
 * The Effect face of the storage layer, kept thin: a `SqliteDriver` service with one layer per
 * driver, and a scoped `openDatabase` that closes the database when its scope ends. The hot
 * path (log store, group commit) stays synchronous underneath.
 *
 * The layers import their driver lazily, so this module loads on Deno (no `bun:sqlite` there)
 * and on Bun alike.
 */
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import type { GroupId } from "../../schemas/raft.ts"
import type { OpenOptions, SqliteDatabase, SqliteDriverImpl } from "./driver.ts"
import { CorruptionError, LogStoreError } from "./errors.ts"
import type { GroupCommitter } from "./group-commit.ts"
import type { ReadyToPersist } from "./log-store.ts"

export { CorruptionError, LogStoreError } from "./errors.ts"

/**
 * The storage layer failed at the Effect boundary: a database that cannot be opened (or not
 * with the required durability), a driver missing in this runtime, a Ready that was not made
 * durable. `message` says what to do next.
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  message: Schema.String,
  file: Schema.String,
}) {}

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

/** The Effect form of `GroupCommitter.submit`: succeeds once the Ready is durable. */
export const persistReady = (
  committer: GroupCommitter,
  group: GroupId,
  ready: ReadyToPersist,
): Effect.Effect<void, StorageError | CorruptionError> =>
  Effect.async<void, StorageError | CorruptionError>((resume) => {
    committer.submitWith(group, ready, (error) =>
      resume(error === null ? Effect.void : Effect.fail(asStorageFailure(committer.store.file, error))),
    )
  })

const asStorageFailure = (file: string, error: Error): StorageError | CorruptionError => {
  if (error instanceof CorruptionError) return error
  if (error instanceof LogStoreError) {
    return new StorageError({
      file,
      message: `${error.message}; this is a bug in the caller's Raft loop, report it`,
    })
  }
  return new StorageError({
    file,
    message: `${file}: could not make the Ready durable (${error.message}); check the disk (space, permissions, I/O errors) and restart the node`,
  })
}
