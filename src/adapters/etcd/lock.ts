/**
 * etcd's v3lock service (server/etcdserver/api/v3lock over concurrency.Mutex), on an
 * EtcdBackend. A waiter's key is "<name>/<lease hex>"; the oldest key under "<name>/" holds the
 * lock. Lattice adds the fencing token: the lock key's creation revision, which grows strictly
 * from one holder to the next (a later holder's key was created after, or waited behind, the
 * earlier holder's key).
 */
import type { EtcdBackend } from "./backend.ts"
import { byCreate, concat, createRevisionIs, leaseKey, sessionLease, waitDeletes } from "./concurrency.ts"
import { EtcdError, GrpcCode } from "./errors.ts"
import type * as pb from "./proto/etcd.gen.ts"

const SLASH = new Uint8Array([0x2f])

export const LockErrors = {
  sessionExpired: () => new EtcdError(GrpcCode.UNKNOWN, "mutex: session is expired"),
}

export const lock = async (
  backend: EtcdBackend,
  req: pb.LockRequest,
  signal: AbortSignal | undefined,
): Promise<pb.LockResponse> => {
  const prefix = concat(req.name ?? new Uint8Array(0), SLASH)
  const lease = await sessionLease(backend, req.lease ?? 0n)
  const key = leaseKey(prefix, lease)
  const owner = { requestRange: byCreate(prefix, "first") }
  // Enqueue (or find our key again, so locking twice with one lease is reentrant) and read the
  // current holder in the same transaction: the uncontended path is one round trip.
  const res = await backend.txn({
    compare: [createRevisionIs(key, 0n)],
    success: [{ requestPut: { key, value: new Uint8Array(0), lease } }, owner],
    failure: [{ requestRange: { key } }, owner],
  })
  let rev = res.header?.revision ?? 0n
  if (!res.succeeded) rev = res.responses?.[0]?.responseRange?.kvs?.[0]?.createRevision ?? rev
  const holder = res.responses?.[1]?.responseRange?.kvs?.[0]
  if (holder === undefined || holder.createRevision === rev) {
    return { header: res.header, key, fencingToken: rev }
  }
  try {
    await waitDeletes(backend, prefix, rev - 1n, signal)
  } catch (err) {
    // Waiting failed or the caller went away: leave the queue, as etcd's Mutex does, but only
    // this incarnation of the key, so a late cleanup cannot remove the caller's retried lock.
    await backend
      .txn({ compare: [createRevisionIs(key, rev)], success: [{ requestDeleteRange: { key } }] })
      .catch(() => undefined)
    throw err
  }
  // The lease may have expired while we waited: then the key is gone and the lock is not ours.
  const mine = await backend.range({ key })
  if ((mine.kvs?.[0]?.createRevision ?? 0n) !== rev) throw LockErrors.sessionExpired()
  return { header: mine.header, key, fencingToken: rev }
}

export const unlock = async (backend: EtcdBackend, req: pb.UnlockRequest): Promise<pb.UnlockResponse> => {
  const res = await backend.deleteRange({ key: req.key ?? new Uint8Array(0) })
  return { header: res.header }
}
