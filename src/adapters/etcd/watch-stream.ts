/**
 * One etcd Watch stream, as etcd's serverWatchStream: creates (ids from 0 per stream unless the
 * client picks one), cancels and progress requests in, created / events / progress / canceled
 * responses out. The backend's engine delivers the events; this file only speaks the protocol:
 * NOPUT / NODELETE filters, `fragment` (a response larger than --max-request-bytes is split into
 * several with `fragment: true` on all but the last, never inside an event), progress answers
 * that are bookmarks, and a bounded queue of unsent responses.
 */
import { AsyncQueue } from "./async-queue.ts"
import type { EtcdBackend, WatchHandle, WatchSpec } from "./backend.ts"
import { EtcdError, GrpcCode } from "./errors.ts"
import * as pb from "./proto/etcd.gen.ts"

export interface WatchStreamOptions {
  /** Unsent responses beyond which the stream fails UNAVAILABLE (the client resumes elsewhere). */
  readonly maxPendingResponses: number
  /** etcd's --max-request-bytes: the size above which a `fragment` watcher's responses are split. */
  readonly maxResponseBytes: number
}

export const WATCH_OVERFLOW_MESSAGE =
  "etcdserver: watch stream overflowed, resume from the last revision received"

/** etcd's sendFragments: whole events, each part below the limit unless one event alone is larger. */
export const fragmentEvents = (events: pb.Event[], maxBytes: number): pb.Event[][] => {
  const sizes = events.map((e) => pb.encodeEvent(e).length + 2)
  const total = sizes.reduce((a, b) => a + b, 0)
  if (total < maxBytes || events.length < 2) return [events]
  const parts: pb.Event[][] = []
  let current: pb.Event[] = []
  let size = 0
  events.forEach((e, i) => {
    if (current.length > 0 && size + sizes[i]! >= maxBytes) {
      parts.push(current)
      current = []
      size = 0
    }
    current.push(e)
    size += sizes[i]!
  })
  parts.push(current)
  return parts
}

/** etcd's normalization of a create request: empty key, "\0" range end, start revision, filters. */
export const normalizeWatchCreate = (
  c: pb.WatchCreateRequest,
  currentRevision: bigint,
): { spec: WatchSpec; keep: (e: pb.Event) => boolean } => {
  const key = c.key !== undefined && c.key.length > 0 ? c.key : new Uint8Array([0])
  const end = c.rangeEnd
  const rangeEnd =
    end === undefined || end.length === 0
      ? undefined
      : end.length === 1 && end[0] === 0
        ? new Uint8Array(0)
        : end
  const noPut = (c.filters ?? []).includes(pb.WatchCreateRequest_FilterType.NOPUT)
  const noDelete = (c.filters ?? []).includes(pb.WatchCreateRequest_FilterType.NODELETE)
  const start =
    c.startRevision !== undefined && c.startRevision !== 0n ? c.startRevision : currentRevision + 1n
  return {
    spec: {
      key,
      rangeEnd,
      startRevision: start,
      prevKv: c.prevKv === true,
      progressNotify: c.progressNotify === true,
    },
    keep: (e) => ((e.type ?? 0) === pb.Event_EventType.PUT ? !noPut : !noDelete),
  }
}

export async function* serveWatchStream(
  backend: EtcdBackend,
  options: WatchStreamOptions,
  requests: AsyncIterable<pb.WatchRequest>,
  signal: AbortSignal,
): AsyncGenerator<pb.WatchResponse> {
  const engine = backend.watches
  if (engine === undefined) throw new EtcdError(GrpcCode.UNIMPLEMENTED, "unknown service etcdserverpb.Watch")
  const queue = new AsyncQueue<pb.WatchResponse>()
  const out = {
    push: (r: pb.WatchResponse) => {
      if (queue.size >= options.maxPendingResponses) {
        queue.fail(new EtcdError(GrpcCode.UNAVAILABLE, WATCH_OVERFLOW_MESSAGE))
      } else queue.push(r)
    },
    fail: (e: unknown) => queue.fail(e),
    close: () => queue.close(),
  }
  const watchers = new Map<bigint, WatchHandle>()
  let nextId = 0n
  // Watch headers carry exactly the revision given (etcd's newResponseHeader; 0 is omitted).
  const header = (revision: bigint): pb.ResponseHeader => {
    const id = backend.identity()
    return { clusterId: id.clusterId, memberId: id.memberId, revision, raftTerm: id.raftTerm }
  }
  const current = () => backend.identity().revision
  /** The revision up to which every watcher of the stream got its events. */
  const bookmark = (): bigint => {
    let rev = current()
    for (const w of watchers.values()) {
      const r = w.progressRevision?.()
      if (r !== undefined && r < rev) rev = r
    }
    return rev
  }
  const create = (c: pb.WatchCreateRequest) => {
    const wsrev = current()
    let id = c.watchId ?? 0n
    if (id === 0n) {
      while (watchers.has(nextId)) nextId++
      id = nextId++
    } else if (watchers.has(id)) {
      out.push({
        header: header(wsrev),
        watchId: -1n,
        created: true,
        canceled: true,
        cancelReason: "mvcc: duplicate watch ID provided on the WatchStream",
      })
      return
    }
    const { spec, keep } = normalizeWatchCreate(c, wsrev)
    // The created response goes out before any event of this watcher.
    out.push({ header: header(wsrev), watchId: id, created: true })
    const watchId = id
    // Events may arrive synchronously from engine.watch, and must stop right after a cancel.
    let active = true
    const handle = engine.watch(spec, {
      events: (revision, events) => {
        if (!active) return
        const kept = events.filter(keep)
        if (kept.length === 0) return
        const parts = c.fragment === true ? fragmentEvents(kept, options.maxResponseBytes) : [kept]
        parts.forEach((part, i) => {
          const fragment = i < parts.length - 1 ? { fragment: true } : {}
          out.push({ header: header(revision), watchId, events: part, ...fragment })
        })
      },
      compacted: (compactRevision) => {
        if (!active) return
        active = false
        out.push({ header: header(0n), watchId, compactRevision, canceled: true })
        watchers.delete(watchId)
      },
      progress: (revision) => {
        if (active) out.push({ header: header(revision), watchId })
      },
      cancelled: (reason) => {
        if (!active) return
        active = false
        watchers.delete(watchId)
        out.fail(new EtcdError(GrpcCode.UNAVAILABLE, reason))
      },
      backlog: () => queue.size,
    })
    if (active) {
      watchers.set(watchId, {
        cancel: () => {
          active = false
          handle.cancel()
        },
        progressRevision: handle.progressRevision?.bind(handle),
      })
    } else handle.cancel()
  }
  const onAbort = () => out.close()
  signal.addEventListener("abort", onAbort)
  const reading = (async () => {
    for await (const r of requests) {
      if (r.createRequest !== undefined) create(r.createRequest)
      else if (r.cancelRequest !== undefined) {
        const id = r.cancelRequest.watchId ?? 0n
        const w = watchers.get(id)
        if (w !== undefined) {
          w.cancel()
          watchers.delete(id)
          out.push({ header: header(current()), watchId: id, canceled: true })
        }
      } else if (r.progressRequest !== undefined) {
        // A bookmark: no watcher of the stream has an undelivered event at or below it.
        out.push({ header: header(bookmark()), watchId: -1n })
      }
    }
  })()
  reading.catch((err) => out.fail(err))
  try {
    for await (const res of queue) yield res
  } finally {
    signal.removeEventListener("abort", onAbort)
    for (const w of watchers.values()) w.cancel()
    watchers.clear()
  }
}
