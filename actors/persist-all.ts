/**
 * Submits a cycle's Readys to the group committer in one synchronous burst, so they join the
 * same transaction (and fsync) as each other and as other groups' Readys of this turn, and
 * completes once the last of them is durable (the committer completes them in order).
 */
import { Effect } from "effect"
import type { GroupId } from "../schemas/raft.ts"
import type { Ready } from "../src/raft/api.ts"
import { CorruptionError } from "../src/storage/errors.ts"
import type { GroupCommitter } from "../src/storage/group-commit.ts"
import type { ReadyToPersist } from "../src/storage/log-store.ts"
import { StorageError } from "../src/storage/service.ts"

export const needsPersist = (r: ReadyToPersist): boolean =>
  r.hardState !== null ||
  r.entries.length > 0 ||
  r.truncateFrom !== null ||
  r.snapshot !== null ||
  r.compactTo !== null

/**
 * Submits `readys` to the committer in one synchronous burst and calls `done` once the last of
 * them is durable (null) or with the first failure. `done` runs at once for an empty list.
 */
export const submitAll = (
  committer: GroupCommitter,
  readys: readonly ReadyToPersist[],
  group: GroupId,
  done: (failure: StorageError | CorruptionError | null) => void,
): void => {
  let left = readys.length
  let failed = false
  if (left === 0) {
    done(null)
    return
  }
  for (const r of readys) {
    committer.submitWith(group, r, (error) => {
      if (failed) return
      if (error !== null) {
        failed = true
        done(asFailure(committer.store.file, error))
        return
      }
      if (--left === 0) done(null)
    })
  }
}

export const persistAll = (
  committer: GroupCommitter,
  group: GroupId,
  readys: readonly ReadyToPersist[],
): Effect.Effect<void, StorageError | CorruptionError> =>
  Effect.async<void, StorageError | CorruptionError>((resume) =>
    submitAll(committer, readys, group, (failure) =>
      resume(failure === null ? Effect.void : Effect.fail(failure)),
    ),
  )

const asFailure = (file: string, error: Error): StorageError | CorruptionError =>
  error instanceof CorruptionError
    ? error
    : new StorageError({
        file,
        message: `${file}: could not make a Ready durable (${error.message}); check the disk and restart the node`,
      })

/** The persistent part of a Ready (what the log store writes). */
export const persistentPart = (r: Ready): ReadyToPersist => r
