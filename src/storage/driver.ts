/**
 * The SQLite driver contract. Two implementations satisfy it: `bun:sqlite` (the default, in
 * `bun-sqlite.ts`) and `node:sqlite` (for Deno, in `node-sqlite.ts`). Everything above the
 * driver (log store, MVCC state machine) uses only this interface, so both drivers pass the
 * same test suite.
 *
 * The calls are synchronous on purpose: SQLite is in-process, and the apply loop and the
 * log store run whole transactions without yielding. Effect wraps them one level up.
 *
 * Integers are read as `bigint` (safeIntegers) so that no 64-bit value is silently rounded;
 * callers convert with `toSafeNumber` where a number is wanted.
 */

export type SqlValue = null | bigint | number | string | Uint8Array
export type SqlRow = Record<string, SqlValue>

export interface RunResult {
  readonly changes: number
  readonly lastInsertRowid: bigint | number
}

export interface SqliteStatement {
  run(...params: SqlValue[]): RunResult
  get(...params: SqlValue[]): SqlRow | undefined
  all(...params: SqlValue[]): SqlRow[]
  /** Streams rows without materializing them all (used by snapshots and large ranges). */
  iterate(...params: SqlValue[]): IterableIterator<SqlRow>
}

export type SynchronousMode = "OFF" | "NORMAL" | "FULL" | "EXTRA"

export interface OpenOptions {
  /** Required durability; `open` fails when SQLite reports a weaker synchronous mode. */
  readonly synchronous: SynchronousMode
  readonly readonly?: boolean
}

export interface SqliteDatabase {
  readonly path: string
  exec(sql: string): void
  prepare(sql: string): SqliteStatement
  /**
   * Runs `fn` in BEGIN IMMEDIATE … COMMIT; rolls back if it throws. Inside a transaction that is
   * already open it runs in a SAVEPOINT instead: released on success, rolled back to on a throw,
   * and committed only with the outer transaction.
   */
  transaction<T>(fn: () => T): T
  /** Whether a transaction is open on this connection. */
  inTransaction(): boolean
  /** Reads one PRAGMA value, for example `pragma("synchronous")`. */
  pragma(name: string): SqlValue
  close(): void
}

export interface SqliteDriverImpl {
  readonly name: "bun:sqlite" | "node:sqlite"
  open(path: string, options: OpenOptions): SqliteDatabase
}

export const toSafeNumber = (value: SqlValue): number => {
  if (typeof value === "number") return value
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`integer ${value} does not fit in a JS number`)
    }
    return Number(value)
  }
  throw new TypeError(`expected an integer, got ${value === null ? "null" : typeof value}`)
}
