/**
 * The etcd adapter's watch engine on a node: a thin translation from etcd's watch spec and
 * protobuf events to the group's WatchHub (actors/watch-hub.ts), which serves every member,
 * leader or not, from its own applied state.
 */
import type { WatchHub } from "../../actors/watch-hub.ts"
import { DEFAULT_TENANT } from "../../schemas/kv.ts"
import type { EtcdWatchBackend, WatchHandle, WatchSink, WatchSpec } from "../adapters/etcd/backend.ts"
import { EtcdErrors } from "../adapters/etcd/errors.ts"
import * as map from "../adapters/etcd/kv-mapping.ts"
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import type { KeySpan } from "../kv/store.ts"
import type { WatchEvent } from "../kv/watch/event.ts"

/** etcd's normalized range: undefined = one key, empty = every key >= key, else [key, end). */
export const spanOf = (key: Uint8Array, rangeEnd: Uint8Array | undefined): KeySpan =>
  rangeEnd === undefined
    ? { kind: "one", key }
    : rangeEnd.length === 0
      ? { kind: "from", key }
      : { kind: "between", key, end: rangeEnd }

/** One protobuf event per engine event (engine events are shared by every watcher they match). */
const converted = new WeakMap<WatchEvent, pb.Event>()
export const toPbEvent = (e: WatchEvent): pb.Event => {
  let out = converted.get(e)
  if (out === undefined) {
    out = {
      type: e.type === "put" ? pb.Event_EventType.PUT : pb.Event_EventType.DELETE,
      kv: map.fromKvKeyValue(e.kv),
      ...(e.prevKv !== undefined ? { prevKv: map.fromKvKeyValue(e.prevKv) } : {}),
    }
    converted.set(e, out)
  }
  return out
}

export const etcdWatchBackend = (hub: () => WatchHub | undefined): EtcdWatchBackend => ({
  watch(spec: WatchSpec, sink: WatchSink): WatchHandle {
    const h = hub()
    if (h === undefined) throw EtcdErrors.stopped()
    const watch = h.watch(
      {
        tenant: DEFAULT_TENANT,
        span: spanOf(spec.key, spec.rangeEnd),
        startRevision: map.toNumber(spec.startRevision),
        prevKv: spec.prevKv,
        progressNotify: spec.progressNotify === true,
      },
      {
        events: (revision, events) => sink.events(BigInt(revision), events.map(toPbEvent)),
        compacted: (compactRevision) => sink.compacted(BigInt(compactRevision)),
        progress: (revision) => sink.progress(BigInt(revision)),
        cancelled: (reason) => sink.cancelled(reason),
        backlog: () => sink.backlog(),
      },
    )
    return { cancel: () => watch.cancel(), progressRevision: () => BigInt(watch.progressRevision()) }
  },
})
