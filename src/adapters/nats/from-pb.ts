/** The etcd adapter's protobuf responses to NATS API responses (schemas/nats-api.ts). */
import type * as api from "../../../schemas/nats-api.ts"
import type * as pb from "../etcd/proto/etcd.gen.ts"

const EMPTY = new Uint8Array()

export const headerFromPb = (h: pb.ResponseHeader | undefined): api.ResponseHeader => ({
  cluster_id: h?.clusterId ?? 0n,
  member_id: h?.memberId ?? 0n,
  revision: h?.revision ?? 0n,
  raft_term: h?.raftTerm ?? 0n,
})

export const kvFromPb = (kv: pb.KeyValue): api.KeyValue => ({
  key: kv.key ?? EMPTY,
  create_revision: kv.createRevision ?? 0n,
  mod_revision: kv.modRevision ?? 0n,
  version: kv.version ?? 0n,
  value: kv.value ?? EMPTY,
  lease: kv.lease ?? 0n,
})

export const rangeFromPb = (r: pb.RangeResponse): api.RangeResponse => ({
  header: headerFromPb(r.header),
  kvs: (r.kvs ?? []).map(kvFromPb),
  more: r.more ?? false,
  count: r.count ?? 0n,
})

export const putFromPb = (r: pb.PutResponse): api.PutResponse =>
  r.prevKv === undefined
    ? { header: headerFromPb(r.header) }
    : { header: headerFromPb(r.header), prev_kv: kvFromPb(r.prevKv) }

export const deleteFromPb = (r: pb.DeleteRangeResponse): api.DeleteRangeResponse => ({
  header: headerFromPb(r.header),
  deleted: r.deleted ?? 0n,
  prev_kvs: (r.prevKvs ?? []).map(kvFromPb),
})

const responseOpFromPb = (op: pb.ResponseOp): api.ResponseOp => {
  if (op.responseRange !== undefined) return { response_range: rangeFromPb(op.responseRange) }
  if (op.responsePut !== undefined) return { response_put: putFromPb(op.responsePut) }
  if (op.responseDeleteRange !== undefined)
    return { response_delete_range: deleteFromPb(op.responseDeleteRange) }
  return { response_txn: txnFromPb(op.responseTxn ?? {}) }
}

export const txnFromPb = (r: pb.TxnResponse): api.TxnResponse => ({
  header: headerFromPb(r.header),
  succeeded: r.succeeded ?? false,
  responses: (r.responses ?? []).map(responseOpFromPb),
})

export const compactFromPb = (r: pb.CompactionResponse): api.CompactionResponse => ({
  header: headerFromPb(r.header),
})

export const memberFromPb = (m: pb.Member): api.Member => ({
  id: m.ID ?? 0n,
  name: m.name ?? "",
  peer_urls: m.peerURLs ?? [],
  client_urls: m.clientURLs ?? [],
  is_learner: m.isLearner ?? false,
})

export const statusFromPb = (s: pb.StatusResponse, members: readonly pb.Member[]): api.StatusResponse => ({
  header: headerFromPb(s.header),
  version: s.version ?? "",
  leader: s.leader ?? 0n,
  raft_term: s.raftTerm ?? 0n,
  raft_index: s.raftIndex ?? 0n,
  raft_applied_index: s.raftAppliedIndex ?? 0n,
  db_size: s.dbSize ?? 0n,
  errors: s.errors ?? [],
  members: members.map(memberFromPb),
})
