/**
 * etcd's v3election service (server/etcdserver/api/v3election over concurrency.Election), on an
 * EtcdBackend. A candidate's key is "<name>/<lease hex>"; the oldest key under "<name>/" is the
 * leader. Headers are the backend's; the service fills the member identity.
 */
import type { EtcdBackend } from "./backend.ts"
import {
  byCreate,
  cancelled,
  concat,
  createRevisionIs,
  leaseKey,
  requireWatches,
  sessionLease,
  waitDeletes,
  watchEvents,
} from "./concurrency.ts"
import { EtcdError, GrpcCode } from "./errors.ts"
import * as pb from "./proto/etcd.gen.ts"

const SLASH = new Uint8Array([0x2f])

/** etcd returns these as plain errors, which gRPC clients see as UNKNOWN with the message. */
export const ElectionErrors = {
  notLeader: () => new EtcdError(GrpcCode.UNKNOWN, "election: not leader"),
  noLeader: () => new EtcdError(GrpcCode.UNKNOWN, "election: no leader"),
  missingLeaderKey: () => new EtcdError(GrpcCode.UNKNOWN, '"leader" field must be provided'),
  sessionExpired: () => new EtcdError(GrpcCode.UNKNOWN, "election: session is expired"),
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  Buffer.compare(a ?? new Uint8Array(0), b ?? new Uint8Array(0)) === 0

/** Proclaim with a known leader key: put the value only while the key is still ours. */
const proclaimAs = async (
  backend: EtcdBackend,
  key: Uint8Array,
  rev: bigint,
  lease: bigint,
  value: Uint8Array,
): Promise<pb.ResponseHeader | undefined> => {
  const res = await backend.txn({
    compare: [createRevisionIs(key, rev)],
    success: [{ requestPut: { key, value, lease } }],
  })
  if (!res.succeeded) throw ElectionErrors.notLeader()
  return res.header
}

const resignAs = async (backend: EtcdBackend, key: Uint8Array, rev: bigint) =>
  (await backend.txn({ compare: [createRevisionIs(key, rev)], success: [{ requestDeleteRange: { key } }] }))
    .header

export const campaign = async (
  backend: EtcdBackend,
  req: pb.CampaignRequest,
  signal: AbortSignal | undefined,
): Promise<pb.CampaignResponse> => {
  const name = req.name ?? new Uint8Array(0)
  const value = req.value ?? new Uint8Array(0)
  const prefix = concat(name, SLASH)
  const lease = await sessionLease(backend, req.lease ?? 0n)
  const key = leaseKey(prefix, lease)
  const res = await backend.txn({
    compare: [createRevisionIs(key, 0n)],
    success: [{ requestPut: { key, value, lease } }],
    failure: [{ requestRange: { key } }],
  })
  let rev = res.header?.revision ?? 0n
  if (!res.succeeded) {
    // Campaigning again with the same lease resumes the candidacy (a retried call included).
    const kv = res.responses?.[0]?.responseRange?.kvs?.[0]
    if (kv === undefined) throw ElectionErrors.sessionExpired()
    rev = kv.createRevision ?? 0n
    if (!sameBytes(kv.value, value)) {
      try {
        await proclaimAs(backend, key, rev, lease, value)
      } catch (err) {
        await resignAs(backend, key, rev).catch(() => undefined)
        throw err
      }
    }
  }
  try {
    await waitDeletes(backend, prefix, rev - 1n, signal)
  } catch (err) {
    // The caller went away while waiting: withdraw the candidacy, as etcd does.
    if (signal?.aborted) await resignAs(backend, key, rev).catch(() => undefined)
    throw err
  }
  // Unlike etcd 3.4, make sure the candidacy outlived the wait (the lease may have expired).
  const mine = await backend.range({ key })
  if ((mine.kvs?.[0]?.createRevision ?? 0n) !== rev) throw ElectionErrors.sessionExpired()
  return { header: res.header, leader: { name, key, rev, lease } }
}

const leaderKeyOf = (k: pb.LeaderKey | undefined): Required<Pick<pb.LeaderKey, "key" | "rev" | "lease">> => {
  if (k === undefined) throw ElectionErrors.missingLeaderKey()
  return { key: k.key ?? new Uint8Array(0), rev: k.rev ?? 0n, lease: k.lease ?? 0n }
}

export const proclaim = async (
  backend: EtcdBackend,
  req: pb.ProclaimRequest,
): Promise<pb.ProclaimResponse> => {
  const l = leaderKeyOf(req.leader)
  return { header: await proclaimAs(backend, l.key, l.rev, l.lease, req.value ?? new Uint8Array(0)) }
}

export const resign = async (backend: EtcdBackend, req: pb.ResignRequest): Promise<pb.ResignResponse> => {
  const l = leaderKeyOf(req.leader)
  return { header: await resignAs(backend, l.key, l.rev) }
}

export const leader = async (backend: EtcdBackend, req: pb.LeaderRequest): Promise<pb.LeaderResponse> => {
  const res = await backend.range(byCreate(concat(req.name ?? new Uint8Array(0), SLASH), "first"))
  const kv = res.kvs?.[0]
  if (kv === undefined) throw ElectionErrors.noLeader()
  return { header: res.header, kv }
}

/**
 * The leader's key-value now and after every change: the oldest key under the prefix (or the
 * first one put, when there is none), then each put to it until it is deleted, then again.
 */
export async function* observe(
  backend: EtcdBackend,
  req: pb.LeaderRequest,
  signal: AbortSignal,
): AsyncGenerator<pb.LeaderResponse> {
  const watches = requireWatches(backend)
  const prefix = concat(req.name ?? new Uint8Array(0), SLASH)
  while (!signal.aborted) {
    const res = await backend.range(byCreate(prefix, "first"))
    let kv = res.kvs?.[0]
    let revision = res.header?.revision ?? 0n
    if (kv === undefined) {
      const spec = {
        key: prefix,
        rangeEnd: byCreate(prefix, "first").rangeEnd,
        startRevision: revision,
        prevKv: false,
      }
      for await (const batch of watchEvents(watches, spec, signal)) {
        const put = batch.events.find((e) => (e.type ?? 0) === pb.Event_EventType.PUT)
        if (put !== undefined) {
          kv = put.kv!
          revision = kv.modRevision ?? revision
          break
        }
      }
      if (kv === undefined) throw cancelled()
    }
    yield { header: { ...res.header, revision }, kv }
    const spec = { key: kv.key!, rangeEnd: undefined, startRevision: revision + 1n, prevKv: false }
    watching: for await (const batch of watchEvents(watches, spec, signal)) {
      for (const e of batch.events) {
        if ((e.type ?? 0) === pb.Event_EventType.DELETE) break watching
        yield { header: { ...res.header, revision: batch.revision }, kv: e.kv }
      }
    }
  }
}
