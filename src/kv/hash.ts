/**
 * State hashes for replica comparison (etcd's Hash/HashKV, over our own layout): a CRC-32 of
 * the logical MVCC rows up to a revision, with the compaction revision.
 */
import { type HashKVResponse, KvError } from "../../schemas/kv.ts"
import type { SqliteDatabase, SqlRow } from "../storage/driver.ts"
import { BinaryWriter } from "./binary.ts"
import { crc32 } from "./crc32.ts"
import { FIRST_ASSIGNED_LEASE_ID } from "./lease/tables.ts"
import { logicalRows } from "./logical-rows.ts"
import type { KvMeta } from "./meta.ts"
import type { KvTables } from "./tables.ts"

/**
 * What a hash covers and in which order, for comparing hashes across lattice releases: 1 hashed the
 * logical rows in key order; 2 (revision-keyed rows) hashes them in revision order. Hashes of
 * different formats never match, whatever the data.
 */
export const KV_HASH_FORMAT = 2

export const hashKv = (
  db: SqliteDatabase,
  t: KvTables,
  meta: KvMeta,
  revision: number,
): HashKVResponse | KvError => {
  if (revision > 0 && revision <= meta.compactRev) return new KvError("Compacted")
  if (revision > meta.revision) return new KvError("FutureRev")
  const upto = revision > 0 ? revision : meta.revision
  let h = 0
  for (const r of logicalRows(db, t, meta.compactRev, upto)) h = hashRow(r, h)
  return { header: { revision: meta.revision }, hash: h, compactRevision: meta.compactRev }
}

const hashRow = (r: SqlRow, h: number): number =>
  crc32(
    new BinaryWriter(64)
      .int(Number(r.tenant))
      .bytes(r.key as Uint8Array)
      .int(Number(r.rev))
      .int(Number(r.create_rev))
      .int(Number(r.version))
      .int64(BigInt(r.lease as bigint | number))
      .bytes(r.value as Uint8Array)
      .finish(),
    h,
  )

/** A HashKV answer at a known revision: the same hash `hashKv` gives for that revision. */
export interface HashAt {
  readonly revision: number
  readonly compactRevision: number
  readonly hash: number
}

/**
 * `hashKv` at `revision` (0: the current one) over a connection of its own, in one read
 * transaction (one consistent snapshot of the file), yielding every `chunk` rows so the caller can
 * let other work run: divergence checks hash large stores without holding the event loop.
 */
export function* hashKvSteps(
  db: SqliteDatabase,
  t: KvTables,
  revision: number,
  chunk: number,
): Generator<void, HashAt | KvError> {
  db.exec("BEGIN")
  try {
    const st = db.prepare(`SELECT revision, compact_rev FROM ${t.state} WHERE id = 0`).get()
    const current = Number(st?.revision ?? 1)
    const compactRev = Number(st?.compact_rev ?? -1)
    if (revision > 0 && revision <= compactRev) return new KvError("Compacted")
    if (revision > current) return new KvError("FutureRev")
    const upto = revision > 0 ? revision : current
    let h = 0
    let n = 0
    for (const r of logicalRows(db, t, compactRev, upto)) {
      h = hashRow(r, h)
      if (++n % chunk === 0) yield
    }
    return { revision: upto, compactRevision: compactRev, hash: h }
  } finally {
    db.exec("COMMIT")
  }
}

/** The whole replicated state: MVCC rows, revisions, tick, clock, tenants, idempotency records, leases. */
export const hashState = (db: SqliteDatabase, t: KvTables, meta: KvMeta): number => {
  const kv = hashKv(db, t, meta, 0)
  if (kv instanceof KvError) throw kv
  const w = new BinaryWriter(64)
    .int(kv.hash)
    .int(meta.revision)
    .int(meta.compactRev)
    .int(meta.tick)
    .int(meta.idemSeq)
    .int(meta.tickMs)
  let h = crc32(w.finish())
  for (const r of db.prepare(`SELECT name, id FROM ${t.tenants} ORDER BY id`).iterate()) {
    h = crc32(new BinaryWriter().string(String(r.name)).int(Number(r.id)).finish(), h)
  }
  for (const r of db
    .prepare(`SELECT client, request, seq, tick, outcome FROM ${t.idem} ORDER BY seq`)
    .iterate()) {
    const w2 = new BinaryWriter()
      .string(String(r.client))
      .int(Number(r.request))
      .int(Number(r.seq))
      .int(Number(r.tick))
      .bytes(r.outcome as Uint8Array)
    h = crc32(w2.finish(), h)
  }
  const seq = db.prepare(`SELECT next_id FROM ${t.leaseSeq} WHERE id = 0`).get()
  h = crc32(
    new BinaryWriter().int64(BigInt((seq?.next_id ?? FIRST_ASSIGNED_LEASE_ID) as bigint | number)).finish(),
    h,
  )
  for (const r of db.prepare(`SELECT id, ttl_ms, deadline_ms FROM ${t.leases} ORDER BY id`).iterate()) {
    h = crc32(
      new BinaryWriter()
        .int64(BigInt(r.id as bigint | number))
        .int(Number(r.ttl_ms))
        .int(Number(r.deadline_ms))
        .finish(),
      h,
    )
  }
  return h
}
