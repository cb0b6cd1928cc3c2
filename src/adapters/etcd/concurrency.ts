/**
 * The building blocks of etcd's `concurrency` package (client/v3/concurrency), on an EtcdBackend:
 * candidates and waiters are keys "<prefix><lease hex>" attached to their lease, ordered by
 * creation revision; the oldest one holds the lock or leadership, and each waiter watches for
 * the deletion of the newest key older than its own. The election and lock services use them.
 */
import { AsyncQueue } from "./async-queue.ts"
import type { EtcdBackend, EtcdLeaseBackend, EtcdWatchBackend, WatchSpec } from "./backend.ts"
import { EtcdError, EtcdErrors, GrpcCode } from "./errors.ts"
import * as pb from "./proto/etcd.gen.ts"

/** etcd's concurrency.NewSession default TTL, used when Campaign or Lock gives no lease. */
export const DEFAULT_SESSION_TTL = 60n

const encoder = new TextEncoder()
export const bytes = (s: string): Uint8Array => encoder.encode(s)
export const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** etcd's GetPrefixRangeEnd. */
export const prefixEnd = (prefix: Uint8Array): Uint8Array => {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1
      return end.slice(0, i + 1)
    }
  }
  return new Uint8Array([0])
}

export const cancelled = (): EtcdError => new EtcdError(GrpcCode.CANCELLED, "context canceled")

/** The key a lease's candidate or waiter uses: "<prefix><lease in lower-case hex>" (Go's %x). */
export const leaseKey = (prefix: Uint8Array, lease: bigint): Uint8Array =>
  concat(prefix, bytes(lease.toString(16)))

export const requireLeases = (backend: EtcdBackend): EtcdLeaseBackend => {
  if (backend.leases === undefined) throw new EtcdError(GrpcCode.UNIMPLEMENTED, "leases are not available")
  return backend.leases
}

export const requireWatches = (backend: EtcdBackend): EtcdWatchBackend => {
  if (backend.watches === undefined) throw new EtcdError(GrpcCode.UNIMPLEMENTED, "watches are not available")
  return backend.watches
}

/** concurrency.NewSession(WithLease(lease)) then Orphan(): lease 0 grants a 60 s lease nobody renews. */
export const sessionLease = async (backend: EtcdBackend, lease: bigint): Promise<bigint> =>
  lease !== 0n ? lease : (await requireLeases(backend).grant(DEFAULT_SESSION_TTL, 0n)).id

/** The watch engine as an async iterable of event batches; a compacted start fails it. */
export const watchEvents = (
  watches: EtcdWatchBackend,
  spec: WatchSpec,
  signal: AbortSignal | undefined,
): AsyncIterable<{ revision: bigint; events: pb.Event[] }> => ({
  [Symbol.asyncIterator]: () => {
    const queue = new AsyncQueue<{ revision: bigint; events: pb.Event[] }>()
    let handle: { cancel(): void } | undefined
    const onAbort = () => queue.fail(cancelled())
    if (signal?.aborted) queue.fail(cancelled())
    else {
      signal?.addEventListener("abort", onAbort, { once: true })
      handle = watches.watch(spec, {
        events: (revision, events) => queue.push({ revision, events }),
        compacted: () => queue.fail(EtcdErrors.compacted()),
        progress: () => {},
        // A drain: the caller's wait fails UNAVAILABLE, and clients retry on another member.
        cancelled: (reason) => queue.fail(new EtcdError(GrpcCode.UNAVAILABLE, reason)),
        backlog: () => queue.size,
      })
    }
    const it = queue[Symbol.asyncIterator]()
    const release = () => {
      signal?.removeEventListener("abort", onAbort)
      handle?.cancel()
      handle = undefined
    }
    return {
      next: () =>
        it.next().then(
          (r) => {
            if (r.done) release()
            return r
          },
          (e) => {
            release()
            throw e
          },
        ),
      return: () => {
        release()
        return it.return!()
      },
    }
  },
})

/** Resolves when `key` is deleted at or after revision `rev` (etcd's waitDelete). */
export const waitDelete = async (
  watches: EtcdWatchBackend,
  key: Uint8Array,
  rev: bigint,
  signal: AbortSignal | undefined,
): Promise<void> => {
  for await (const batch of watchEvents(
    watches,
    { key, rangeEnd: undefined, startRevision: rev, prevKv: false },
    signal,
  )) {
    if (batch.events.some((e) => (e.type ?? 0) === pb.Event_EventType.DELETE)) return
  }
  throw new EtcdError(GrpcCode.UNKNOWN, "lost watcher waiting for delete")
}

/** The range request of clientv3's WithFirstCreate / WithLastCreate (oldest / newest key under prefix). */
export const byCreate = (
  prefix: Uint8Array,
  order: "first" | "last",
  maxCreateRevision?: bigint,
): pb.RangeRequest => ({
  key: prefix,
  rangeEnd: prefixEnd(prefix),
  sortTarget: pb.RangeRequest_SortTarget.CREATE,
  sortOrder: order === "first" ? pb.RangeRequest_SortOrder.ASCEND : pb.RangeRequest_SortOrder.DESCEND,
  limit: 1n,
  maxCreateRevision,
})

/**
 * Waits until no key under `prefix` created at or below `maxCreateRev` is left: watch the
 * newest such key until it is deleted, then look again (etcd's waitDeletes). Waiting on the
 * newest older key, not the oldest, means a crashed waiter in between cannot be skipped.
 */
export const waitDeletes = async (
  backend: EtcdBackend,
  prefix: Uint8Array,
  maxCreateRev: bigint,
  signal: AbortSignal | undefined,
): Promise<pb.ResponseHeader | undefined> => {
  const watches = requireWatches(backend)
  for (;;) {
    if (signal?.aborted) throw cancelled()
    const res = await backend.range(byCreate(prefix, "last", maxCreateRev))
    const last = res.kvs?.[0]
    if (last === undefined) return res.header
    await waitDelete(watches, last.key!, res.header?.revision ?? 0n, signal)
  }
}

/** A compare "key's create revision = rev" (rev 0: the key does not exist). */
export const createRevisionIs = (key: Uint8Array, rev: bigint): pb.Compare => ({
  key,
  target: pb.Compare_CompareTarget.CREATE,
  result: pb.Compare_CompareResult.EQUAL,
  createRevision: rev,
})
