/**
 * What a watcher is told: one change of one key at one revision, as the MVCC store records it
 * (a delete carries the key's tombstone: modRevision set, everything else zero).
 */
import type { KeyValue } from "../../../schemas/kv.ts"

export interface WatchEvent {
  readonly type: "put" | "delete"
  readonly kv: KeyValue
  /** The key's live version just before this change, when the watcher asked for it and it exists. */
  readonly prevKv?: KeyValue
}

/** etcd's NOPUT / NODELETE filters. */
export interface WatchFilters {
  readonly noPut?: boolean
  readonly noDelete?: boolean
}

export const keepEvent = (filters: WatchFilters, e: WatchEvent): boolean =>
  e.type === "put" ? filters.noPut !== true : filters.noDelete !== true

/** etcd's IsCreate: a put that made the key's first version (no prev_kv to send). */
export const isCreate = (e: WatchEvent): boolean => e.type === "put" && e.kv.version === 1
