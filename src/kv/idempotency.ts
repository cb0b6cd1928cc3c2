/**
 * Idempotency records: (clientId, requestId) → the encoded original outcome. Eviction is
 * part of applying entries (on Tick by age, on insert by count), so every replica evicts
 * the same records at the same index.
 */
import type { IdempotencyKey } from "../../schemas/kv.ts"
import type { SqliteDatabase, SqliteStatement } from "../storage/driver.ts"
import type { KvTables } from "./tables.ts"

export interface IdempotencyPolicy {
  /** Records older than this many committed ticks are evicted when a Tick is applied. */
  readonly ttlTicks: number
  /** At most this many records are kept; the oldest go first. */
  readonly maxRecords: number
}

export const DEFAULT_IDEMPOTENCY: IdempotencyPolicy = { ttlTicks: 600, maxRecords: 100_000 }

export class IdempotencyStore {
  private readonly getStmt: SqliteStatement
  private readonly putStmt: SqliteStatement
  private readonly evictSeqStmt: SqliteStatement
  private readonly evictTickStmt: SqliteStatement

  constructor(db: SqliteDatabase, t: KvTables) {
    this.getStmt = db.prepare(`SELECT outcome FROM ${t.idem} WHERE client = ? AND request = ?`)
    this.putStmt = db.prepare(
      `INSERT INTO ${t.idem} (client, request, seq, tick, outcome) VALUES (?, ?, ?, ?, ?)`,
    )
    this.evictSeqStmt = db.prepare(`DELETE FROM ${t.idem} WHERE seq <= ?`)
    this.evictTickStmt = db.prepare(`DELETE FROM ${t.idem} WHERE tick < ?`)
  }

  get(key: IdempotencyKey): Uint8Array | undefined {
    return (this.getStmt.get(key.clientId, key.requestId)?.outcome as Uint8Array | undefined) ?? undefined
  }

  put(key: IdempotencyKey, seq: number, tick: number, outcome: Uint8Array, policy: IdempotencyPolicy): void {
    this.putStmt.run(key.clientId, key.requestId, seq, tick, outcome)
    // seq grows by one per record, so everything at or below seq - max is beyond the cap.
    this.evictSeqStmt.run(seq - policy.maxRecords)
  }

  evictOlderThan(tick: number): void {
    this.evictTickStmt.run(tick)
  }
}
