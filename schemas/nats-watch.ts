/**
 * Messages of the NATS watch API (docs/nats-api.md, "Watch"): JSON in the shapes of the KV API
 * (schemas/nats-api.ts): snake_case, bytes as base64, int64 as decimal strings.
 */
import { Schema } from "effect"
import { Bytes, Int64, KeyValue, ResponseHeader } from "./nats-api.ts"

const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

export const DEFAULT_WATCH_KEEPALIVE_MS = 30_000
export const MIN_WATCH_KEEPALIVE_MS = 1_000

export const WatchCreateRequest = Schema.Struct({
  /** The key, or the start of the range. */
  key: Bytes,
  /** As etcd: absent = the key alone, "AA==" (a zero byte) = every key >= key, else [key, range_end). */
  range_end: opt(Bytes),
  /** First revision to deliver; absent or "0" = after the current revision. */
  start_revision: opt(Int64),
  prev_kv: opt(Schema.Boolean),
  progress_notify: opt(Schema.Boolean),
  filters: opt(Schema.Array(Schema.Literal("NOPUT", "NODELETE"))),
  /** Where the node publishes this watch's messages; subscribe to it before creating the watch. */
  subject: Schema.NonEmptyTrimmedString,
  /** The watch ends when no keepalive arrives for this long. */
  keepalive_ms: opt(Schema.Int.pipe(Schema.greaterThanOrEqualTo(MIN_WATCH_KEEPALIVE_MS))),
})
export type WatchCreateRequest = typeof WatchCreateRequest.Type

export const WatchCreated = Schema.Struct({
  header: ResponseHeader,
  watch_id: Int64,
  /** Request subject for keepalive / progress / cancel of this watch, on the node that serves it. */
  control: Schema.String,
  keepalive_ms: Schema.Number,
})
export type WatchCreated = typeof WatchCreated.Type

export const WatchControlRequest = Schema.Struct({
  op: Schema.Literal("keepalive", "progress", "cancel"),
})
export type WatchControlRequest = typeof WatchControlRequest.Type

export const WatchControlReply = Schema.Struct({ header: ResponseHeader, watch_id: Int64 })

export const WatchEvent = Schema.Struct({
  type: Schema.Literal("PUT", "DELETE"),
  kv: KeyValue,
  prev_kv: opt(KeyValue),
})
export type WatchEvent = typeof WatchEvent.Type

/**
 * One message on the watch's subject. `seq` counts this watch's messages from 1: a gap means a
 * message was lost (core NATS may drop for a slow consumer), so create the watch again from the
 * last event's revision + 1.
 */
export const WatchMessage = Schema.Struct({
  watch_id: Int64,
  seq: Schema.Number,
  header: ResponseHeader,
  events: opt(Schema.Array(WatchEvent)),
  /** A bookmark: every event of the watch up to `header.revision` was published before it. */
  progress: opt(Schema.Boolean),
  compact_revision: opt(Int64),
  canceled: opt(Schema.Boolean),
  cancel_reason: opt(Schema.String),
})
export type WatchMessage = typeof WatchMessage.Type
