/**
 * Streamed, checksummed snapshots of one group's state machine.
 *
 * A snapshot is a sequence of chunks; each chunk is `kind (1 byte) | payload | crc32 (4 bytes,
 * big-endian, over kind+payload)`. The first chunk is the header (state row), then tenants,
 * MVCC rows and idempotency records in batches, the lease id counter and the leases (a snapshot
 * without them restores with no leases), then a trailer holding the row counts and the
 * SHA-256 of every chunk before it. Rows are read through a cursor: the snapshot is never held
 * in memory as a whole, and neither is a restore.
 *
 * `streamSnapshot` reads inside one read transaction, so the stream is a consistent point in
 * time. Drain it before the next apply on the same connection (an apply meanwhile fails), or
 * pass a second connection to the same file.
 */
import { createHash } from "node:crypto"
import type { SqliteDatabase } from "../storage/driver.ts"
import { BinaryReader, BinaryWriter } from "./binary.ts"
import { crc32 } from "./crc32.ts"
import { FIRST_ASSIGNED_LEASE_ID } from "./lease/tables.ts"
import { logicalRows } from "./logical-rows.ts"
import { MetaRow } from "./meta.ts"
import { createKvTables, type KvTables } from "./tables.ts"

export class SnapshotError extends Error {
  override readonly name = "SnapshotError"
}

const MAGIC = "lattice-kv-snapshot/1"
const KIND = { header: 1, tenants: 2, rows: 3, idem: 4, leaseSeq: 5, leases: 6, trailer: 9 } as const
const BATCH_BYTES = 256 * 1024

const frame = (kind: number, payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(payload.length + 5)
  out[0] = kind
  out.set(payload, 1)
  new DataView(out.buffer).setUint32(payload.length + 1, crc32(out.subarray(0, payload.length + 1)))
  return out
}

const unframe = (chunk: Uint8Array): { kind: number; payload: Uint8Array } => {
  if (chunk.length < 5) throw new SnapshotError("snapshot chunk too short")
  const body = chunk.subarray(0, chunk.length - 4)
  const expected = new DataView(chunk.buffer, chunk.byteOffset, chunk.length).getUint32(chunk.length - 4)
  if (crc32(body) !== expected) throw new SnapshotError("snapshot chunk checksum mismatch")
  return { kind: chunk[0]!, payload: body.subarray(1) }
}

/**
 * `batchBytes` bounds a row chunk (any size restores the same): a reader that yields to the
 * event loop between chunks (the apply loop's background snapshots) passes a smaller one.
 */
export function* streamSnapshot(
  db: SqliteDatabase,
  t: KvTables,
  batchBytes: number = BATCH_BYTES,
): Generator<Uint8Array> {
  const sha = createHash("sha256")
  const emit = (kind: number, payload: Uint8Array): Uint8Array => {
    const chunk = frame(kind, payload)
    sha.update(chunk)
    return chunk
  }
  db.exec("BEGIN")
  try {
    const meta = new MetaRow(db, t).read()
    yield emit(
      KIND.header,
      new BinaryWriter()
        .string(MAGIC)
        .int(meta.appliedIndex)
        .int(meta.revision)
        .int(meta.compactRev)
        .int(meta.tick)
        .int(meta.tickMs)
        .int(meta.idemSeq)
        .finish(),
    )
    const tenants = db.prepare(`SELECT name, id FROM ${t.tenants} ORDER BY id`).all()
    const tw = new BinaryWriter().uint(tenants.length)
    for (const r of tenants) tw.string(String(r.name)).int(Number(r.id))
    yield emit(KIND.tenants, tw.finish())

    let rowCount = 0
    let batch = new BinaryWriter(batchBytes + 1024)
    let inBatch = 0
    let inBatchBytes = 0
    for (const r of logicalRows(db, t, meta.compactRev, meta.revision)) {
      const key = r.key as Uint8Array
      const value = r.value as Uint8Array
      batch
        .int(Number(r.tenant))
        .bytes(key)
        .int(Number(r.rev))
        .int(Number(r.create_rev))
        .int(Number(r.version))
        .int64(BigInt(r.lease as bigint | number))
        .bytes(value)
      inBatch++
      rowCount++
      inBatchBytes += key.length + value.length + 16
      if (inBatchBytes >= batchBytes) {
        yield emit(KIND.rows, joinCount(inBatch, batch))
        batch = new BinaryWriter(batchBytes + 1024)
        inBatch = 0
        inBatchBytes = 0
      }
    }
    if (inBatch > 0) yield emit(KIND.rows, joinCount(inBatch, batch))

    let idemCount = 0
    batch = new BinaryWriter()
    inBatch = 0
    for (const r of db
      .prepare(`SELECT client, request, seq, tick, outcome FROM ${t.idem} ORDER BY seq`)
      .iterate()) {
      batch
        .string(String(r.client))
        .int(Number(r.request))
        .int(Number(r.seq))
        .int(Number(r.tick))
        .bytes(r.outcome as Uint8Array)
      inBatch++
      idemCount++
      if (inBatch >= 1000) {
        yield emit(KIND.idem, joinCount(inBatch, batch))
        batch = new BinaryWriter()
        inBatch = 0
      }
    }
    if (inBatch > 0) yield emit(KIND.idem, joinCount(inBatch, batch))

    const seq = db.prepare(`SELECT next_id FROM ${t.leaseSeq} WHERE id = 0`).get()
    yield emit(
      KIND.leaseSeq,
      new BinaryWriter().int64(BigInt((seq?.next_id ?? FIRST_ASSIGNED_LEASE_ID) as bigint | number)).finish(),
    )
    batch = new BinaryWriter()
    inBatch = 0
    for (const r of db.prepare(`SELECT id, ttl_ms, deadline_ms FROM ${t.leases} ORDER BY id`).iterate()) {
      batch
        .int64(BigInt(r.id as bigint | number))
        .int(Number(r.ttl_ms))
        .int(Number(r.deadline_ms))
      inBatch++
      if (inBatch >= 4096) {
        yield emit(KIND.leases, joinCount(inBatch, batch))
        batch = new BinaryWriter()
        inBatch = 0
      }
    }
    if (inBatch > 0) yield emit(KIND.leases, joinCount(inBatch, batch))
    const digest = new Uint8Array(sha.digest())
    yield frame(KIND.trailer, new BinaryWriter().int(rowCount).int(idemCount).bytes(digest).finish())
  } finally {
    db.exec("COMMIT")
  }
}

const joinCount = (count: number, body: BinaryWriter): Uint8Array => {
  const head = new BinaryWriter(10).uint(count).finish()
  const rest = body.finish()
  const out = new Uint8Array(head.length + rest.length)
  out.set(head)
  out.set(rest, head.length)
  return out
}

/**
 * Replaces the group's state with a snapshot, in one transaction: any bad checksum, a
 * missing trailer or a wrong count rolls everything back and throws `SnapshotError`.
 */
export const restoreSnapshot = async (
  db: SqliteDatabase,
  t: KvTables,
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> => {
  const sha = createHash("sha256")
  db.exec("BEGIN IMMEDIATE")
  try {
    createKvTables(db, t)
    for (const table of [t.rows, t.tenants, t.idem, t.leases]) db.exec(`DELETE FROM ${table}`)
    db.exec(`UPDATE ${t.leaseSeq} SET next_id = ${FIRST_ASSIGNED_LEASE_ID} WHERE id = 0`)
    const insertLease = db.prepare(`INSERT INTO ${t.leases} (id, ttl_ms, deadline_ms) VALUES (?, ?, ?)`)
    const insertRow = db.prepare(
      `INSERT INTO ${t.rows} (tenant, key, rev, create_rev, version, lease, value) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    const insertTenant = db.prepare(`INSERT INTO ${t.tenants} (name, id) VALUES (?, ?)`)
    const insertIdem = db.prepare(
      `INSERT INTO ${t.idem} (client, request, seq, tick, outcome) VALUES (?, ?, ?, ?, ?)`,
    )
    let seenHeader = false
    let finished = false
    let rows = 0
    let idem = 0
    for await (const chunk of source) {
      if (finished) throw new SnapshotError("data after the snapshot trailer")
      const { kind, payload } = unframe(chunk)
      const r = new BinaryReader(payload)
      if (!seenHeader && kind !== KIND.header)
        throw new SnapshotError("snapshot does not start with a header")
      switch (kind) {
        case KIND.header: {
          if (seenHeader) throw new SnapshotError("second snapshot header")
          if (r.string() !== MAGIC) throw new SnapshotError("not a Lattice KV snapshot")
          const metaRow = new MetaRow(db, t)
          const m = metaRow.read()
          m.appliedIndex = r.int()
          m.revision = r.int()
          m.compactRev = r.int()
          m.compactedThrough = m.compactRev
          m.cursorTenant = null
          m.cursorKey = null
          m.tick = r.int()
          m.tickMs = r.int()
          m.idemSeq = r.int()
          metaRow.write(m)
          seenHeader = true
          break
        }
        case KIND.tenants:
          for (let n = r.uint(); n > 0; n--) insertTenant.run(r.string(), r.int())
          break
        case KIND.rows:
          for (let n = r.uint(); n > 0; n--) {
            insertRow.run(r.int(), r.bytes(), r.int(), r.int(), r.int(), r.int64(), r.bytes())
            rows++
          }
          break
        case KIND.idem:
          for (let n = r.uint(); n > 0; n--) {
            insertIdem.run(r.string(), r.int(), r.int(), r.int(), r.bytes())
            idem++
          }
          break
        case KIND.leaseSeq:
          db.prepare(`UPDATE ${t.leaseSeq} SET next_id = ? WHERE id = 0`).run(r.int64())
          break
        case KIND.leases:
          for (let n = r.uint(); n > 0; n--) insertLease.run(r.int64(), r.int(), r.int())
          break
        case KIND.trailer: {
          const wantRows = r.int()
          const wantIdem = r.int()
          const digest = r.bytes()
          r.end()
          const actual = new Uint8Array(sha.digest())
          if (wantRows !== rows || wantIdem !== idem) throw new SnapshotError("snapshot row count mismatch")
          if (digest.length !== actual.length || !digest.every((b, i) => b === actual[i])) {
            throw new SnapshotError("snapshot checksum mismatch")
          }
          finished = true
          break
        }
        default:
          throw new SnapshotError(`unknown snapshot chunk kind ${kind}`)
      }
      if (kind !== KIND.trailer) {
        r.end()
        sha.update(chunk)
      }
    }
    if (!finished) throw new SnapshotError("snapshot is truncated (no trailer)")
    db.exec("COMMIT")
  } catch (error) {
    db.exec("ROLLBACK")
    if (error instanceof SnapshotError) throw error
    throw new SnapshotError(`corrupt snapshot: ${error instanceof Error ? error.message : String(error)}`)
  }
}
