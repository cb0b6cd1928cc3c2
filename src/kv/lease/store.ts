/**
 * The lease rows of one group. A lease lives until its deadline on the group's committed clock
 * (`KvMeta.tickMs`, moved only by applied tick entries), so every replica agrees on what is
 * expired. Nothing per lease is kept in JS memory.
 */
import type { SqliteDatabase, SqliteStatement, SqlRow } from "../../storage/driver.ts"
import type { KvTables } from "../tables.ts"

export interface LeaseRow {
  /** int64 (bigint: ids may exceed 2^53). */
  readonly id: bigint
  /** The granted TTL; every renewal runs it again from the committed clock. */
  readonly ttlMs: number
  /** Committed-clock time at which the lease expires. */
  readonly deadlineMs: number
}

const toRow = (r: SqlRow): LeaseRow => ({
  id: BigInt(r.id as bigint | number),
  ttlMs: Number(r.ttl_ms),
  deadlineMs: Number(r.deadline_ms),
})

export class LeaseStore {
  private readonly getStmt: SqliteStatement
  private readonly insertStmt: SqliteStatement
  private readonly deadlineStmt: SqliteStatement
  private readonly removeStmt: SqliteStatement
  private readonly dueStmt: SqliteStatement
  private readonly countStmt: SqliteStatement
  private readonly nextStmt: SqliteStatement
  private readonly setNextStmt: SqliteStatement
  private readonly allStmt: SqliteStatement
  private readonly attachedStmt: SqliteStatement

  constructor(
    db: SqliteDatabase,
    readonly tables: KvTables,
  ) {
    const t = tables
    this.getStmt = db.prepare(`SELECT id, ttl_ms, deadline_ms FROM ${t.leases} WHERE id = ?`)
    this.insertStmt = db.prepare(`INSERT INTO ${t.leases} (id, ttl_ms, deadline_ms) VALUES (?, ?, ?)`)
    this.deadlineStmt = db.prepare(`UPDATE ${t.leases} SET deadline_ms = ? WHERE id = ?`)
    this.removeStmt = db.prepare(`DELETE FROM ${t.leases} WHERE id = ?`)
    this.dueStmt = db.prepare(
      `SELECT id, ttl_ms, deadline_ms FROM ${t.leases} WHERE deadline_ms <= ? ORDER BY deadline_ms, id LIMIT ?`,
    )
    this.countStmt = db.prepare(`SELECT count(*) AS n FROM ${t.leases}`)
    this.nextStmt = db.prepare(`SELECT next_id FROM ${t.leaseSeq} WHERE id = 0`)
    this.setNextStmt = db.prepare(`UPDATE ${t.leaseSeq} SET next_id = ? WHERE id = 0`)
    this.allStmt = db.prepare(`SELECT id, ttl_ms, deadline_ms FROM ${t.leases} ORDER BY id`)
    // Served by the partial index on rows.lease (leased versions only).
    this.attachedStmt = db.prepare(
      `SELECT tenant, key, rev FROM ${t.rows} WHERE lease = ? ORDER BY tenant, key`,
    )
  }

  get(id: bigint): LeaseRow | undefined {
    const r = this.getStmt.get(id)
    return r === undefined ? undefined : toRow(r)
  }

  insert(row: LeaseRow): void {
    this.insertStmt.run(row.id, row.ttlMs, row.deadlineMs)
  }

  setDeadline(id: bigint, deadlineMs: number): void {
    this.deadlineStmt.run(deadlineMs, id)
  }

  remove(id: bigint): void {
    this.removeStmt.run(id)
  }

  /** Leases whose deadline is at or before `nowMs`, earliest first, at most `limit`. */
  due(nowMs: number, limit: number): LeaseRow[] {
    return this.dueStmt.all(nowMs, limit).map(toRow)
  }

  count(): number {
    return Number(this.countStmt.get()!.n)
  }

  nextId(): bigint {
    return BigInt(this.nextStmt.get()!.next_id as bigint | number)
  }

  setNextId(next: bigint): void {
    this.setNextStmt.run(next)
  }

  /** Every lease in id order (snapshots, hashes, listings). */
  all(): IterableIterator<LeaseRow> {
    const rows = this.allStmt.iterate()
    return (function* () {
      for (const r of rows) yield toRow(r)
    })()
  }

  /** Rows (any version, live or not) that carry `lease`: candidates for `attachedKeys`. */
  versionsWith(lease: bigint): IterableIterator<SqlRow> {
    return this.attachedStmt.iterate(lease)
  }
}
