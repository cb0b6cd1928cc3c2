/** The single state row of a group, cached in memory and written back inside each apply. */
import type { SqliteDatabase, SqliteStatement } from "../storage/driver.ts"
import type { KvTables } from "./tables.ts"

export interface KvMeta {
  appliedIndex: number
  revision: number
  compactRev: number
  /** Physical compaction has removed all history below this revision. */
  compactedThrough: number
  cursorTenant: number | null
  cursorKey: Uint8Array | null
  tick: number
  tickMs: number
  idemSeq: number
}

export class MetaRow {
  private readonly readStmt: SqliteStatement
  private readonly writeStmt: SqliteStatement

  constructor(db: SqliteDatabase, t: KvTables) {
    this.readStmt = db.prepare(`SELECT * FROM ${t.state} WHERE id = 0`)
    this.writeStmt = db.prepare(
      `UPDATE ${t.state} SET applied_index = ?, revision = ?, compact_rev = ?, compacted_through = ?,
       cursor_tenant = ?, cursor_key = ?, tick = ?, tick_ms = ?, idem_seq = ? WHERE id = 0`,
    )
  }

  read(): KvMeta {
    const r = this.readStmt.get()
    if (r === undefined) throw new Error("kv state row missing")
    return {
      appliedIndex: Number(r.applied_index),
      revision: Number(r.revision),
      compactRev: Number(r.compact_rev),
      compactedThrough: Number(r.compacted_through),
      cursorTenant: r.cursor_tenant === null ? null : Number(r.cursor_tenant),
      cursorKey: (r.cursor_key as Uint8Array | null) ?? null,
      tick: Number(r.tick),
      tickMs: Number(r.tick_ms),
      idemSeq: Number(r.idem_seq),
    }
  }

  write(m: KvMeta): void {
    this.writeStmt.run(
      m.appliedIndex,
      m.revision,
      m.compactRev,
      m.compactedThrough,
      m.cursorTenant,
      m.cursorKey,
      m.tick,
      m.tickMs,
      m.idemSeq,
    )
  }
}
