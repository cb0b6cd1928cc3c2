/**
 * Errors of the storage layer. Both are Effect `Schema.TaggedError`s, so the Effect layer can
 * fail with them as typed errors, and they are also plain `Error`s that the synchronous hot
 * path throws. Every message says what happened and what the operator should do next.
 */
import { Schema } from "effect"

/** The database could not be opened or used, or a caller broke the log store's contract. */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  message: Schema.String,
  file: Schema.String,
}) {}

/**
 * Stored data failed verification (checksum, contiguity, SQLite's own corruption report).
 * The store is quarantined: every later call fails with this error instead of serving data.
 */
export class CorruptionError extends Schema.TaggedError<CorruptionError>()("CorruptionError", {
  message: Schema.String,
  file: Schema.String,
  /** The Raft group, when the damage is attributable to one. */
  group: Schema.NullOr(Schema.Number),
  /** The log index (or snapshot chunk sequence, see `what`), when known. */
  index: Schema.NullOr(Schema.Number),
  /** What failed verification, e.g. "entry", "hard state", "snapshot chunk". */
  what: Schema.String,
}) {}

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
