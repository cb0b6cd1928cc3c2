/**
 * Errors thrown by the synchronous storage core (log store, group commit). They are Effect
 * `Data.TaggedError`s: plain `Error`s with a `_tag`, which an Effect can also fail with. They
 * stay off `Schema` on purpose: the crash-test child (and a cold start) must not pay for
 * loading it. The Effect boundary (`service.ts`) has the schema'd `StorageError`.
 * Every message says what happened and what the operator should do next.
 */
import * as Data from "effect/Data"

/** A caller broke the log's rules (a gap, truncating below the floor, ...) or asked for missing entries. */
export class LogStoreError extends Data.TaggedError("LogStoreError")<{
  readonly message: string
  readonly file: string
}> {}

/**
 * Stored data failed verification (checksum, contiguity, SQLite's own corruption report).
 * The store is quarantined: every later call fails with this error instead of serving data.
 */
export class CorruptionError extends Data.TaggedError("CorruptionError")<{
  readonly message: string
  readonly file: string
  /** The Raft group, when the damage is attributable to one. */
  readonly group: number | null
  /** The log index (or snapshot chunk sequence, see `what`), when known. */
  readonly index: number | null
  /** What failed verification, e.g. "entry", "hard state", "snapshot chunk". */
  readonly what: string
}> {}

const REMEDY =
  "The store is quarantined and refuses to serve. Restore this replica from a healthy peer " +
  "(remove it from the group and add it back so it receives a snapshot) or from a verified backup; " +
  "keep the damaged file for analysis."

export const corruption = (
  file: string,
  what: string,
  group: number | null,
  index: number | null,
  detail: string,
): CorruptionError => {
  const where = [group === null ? null : `group ${group}`, index === null ? null : `index ${index}`]
    .filter((s) => s !== null)
    .join(", ")
  return new CorruptionError({
    file,
    what,
    group,
    index,
    message: `${file}: corrupt ${what}${where === "" ? "" : ` (${where})`}: ${detail}. ${REMEDY}`,
  })
}

/** SQLite's own corruption reports, from either driver. */
export const isSqliteCorruption = (error: unknown): boolean => {
  const text = error instanceof Error ? `${error.message} ${(error as { code?: unknown }).code ?? ""}` : ""
  return /malformed|not a database|SQLITE_CORRUPT|SQLITE_NOTADB/i.test(text)
}
