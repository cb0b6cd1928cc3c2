/**
 * The durable Raft log store: entries, hard state, compaction floor, bootstrap membership and
 * snapshots of many Raft groups in one node database, all keyed by group id.
 *
 * - `persistReady` writes the persistent part of a Ready in ONE transaction (the group
 *   committer puts many Readys in one transaction with `applyReady`).
 * - Every row carries a CRC-32; reads verify it. A mismatch (or SQLite reporting a malformed
 *   file) quarantines the store: that call and every later one fail with the same
 *   `CorruptionError`. Wrong data is never returned.
 * - Snapshot data is stored in chunks and streamed in and out (`beginSnapshot`, `readSnapshot`).
 * - Space freed by compaction is returned online in bounded steps (`reclaimSpace`).
 *
 * Everything here is synchronous: SQLite is in-process and a transaction must not yield.
 */

import {
  type ConfState,
  type Entry,
  emptyConfState,
  emptyHardState,
  type GroupId,
  type HardState,
  type Snapshot,
  type SnapshotMeta,
} from "../../schemas/raft.ts"
import type { PersistedState, Ready } from "../raft/api.ts"
import { CRC32_INIT, crc32Final, crc32Update } from "./crc32.ts"
import type { SqliteDatabase, SqlRow } from "./driver.ts"
import { CorruptionError, corruption, isSqliteCorruption, LogStoreError } from "./errors.ts"
import { ensureFormat, RAFT_DB_FORMAT } from "./format-version.ts"
import {
  chunkCrc,
  decodeEntry,
  decodeHardState,
  entryCrc,
  groupRowCrc,
  hardStateCrc,
  int,
  snapshotRowCrc,
} from "./log-rows.ts"
import { ENTRY_KIND, LOG_SCHEMA, LOG_TABLES } from "./log-schema.ts"
import { SnapshotWriter } from "./snapshot-writer.ts"

/** The part of a Ready that must be durable before its messages are sent. */
export type ReadyToPersist = Pick<Ready, "hardState" | "truncateFrom" | "entries" | "snapshot" | "compactTo">

/** The last compacted entry: entries with index <= floor.index are gone. */
export interface LogFloor {
  readonly index: number
  readonly term: number
}

export interface LoadedLog extends PersistedState {
  readonly floor: LogFloor
}

export interface LoadOptions {
  /** Read the snapshot data into `snapshot.data` (default true). When false, `data` is empty: stream it with `readSnapshot`. */
  readonly snapshotData?: boolean
}

export interface LogStoreOptions {
  /** Size of the stored snapshot chunks (default 256 KiB). */
  readonly snapshotChunkBytes?: number
}

export interface SpaceReport {
  readonly pageSize: number
  readonly pageCount: number
  readonly freelistPages: number
  readonly autoVacuum: "none" | "full" | "incremental"
}

export interface ReclaimResult {
  readonly reclaimedPages: number
  readonly freelistPages: number
}

export interface SnapshotRow {
  readonly snapId: number
  readonly meta: SnapshotMeta
  readonly size: number
  readonly chunks: number
  readonly dataCrc: number
}

const SQL = {
  lastIdx: "SELECT idx FROM raft_entry WHERE group_id = ? ORDER BY idx DESC LIMIT 1",
  firstIdx: "SELECT idx FROM raft_entry WHERE group_id = ? ORDER BY idx ASC LIMIT 1",
  entryTerm: "SELECT idx, term, kind, data, crc FROM raft_entry WHERE group_id = ? AND idx = ?",
  range:
    "SELECT idx, term, kind, data, crc FROM raft_entry WHERE group_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
  after: "SELECT idx, term, kind, data, crc FROM raft_entry WHERE group_id = ? AND idx > ? ORDER BY idx",
  insertEntry: "INSERT INTO raft_entry (group_id, idx, term, kind, data, crc) VALUES (?, ?, ?, ?, ?, ?)",
  deleteFrom: "DELETE FROM raft_entry WHERE group_id = ? AND idx >= ?",
  deleteUpTo: "DELETE FROM raft_entry WHERE group_id = ? AND idx <= ?",
  deleteAll: "DELETE FROM raft_entry WHERE group_id = ?",
  hardState: "SELECT term, vote, commit_idx, crc FROM raft_hard_state WHERE group_id = ?",
  putHardState:
    "INSERT OR REPLACE INTO raft_hard_state (group_id, term, vote, commit_idx, crc) VALUES (?, ?, ?, ?, ?)",
  group: "SELECT floor_idx, floor_term, bootstrap_conf, crc FROM raft_group WHERE group_id = ?",
  putGroup:
    "INSERT OR REPLACE INTO raft_group (group_id, floor_idx, floor_term, bootstrap_conf, crc) VALUES (?, ?, ?, ?, ?)",
  groups:
    "SELECT group_id FROM raft_group UNION SELECT group_id FROM raft_hard_state UNION SELECT DISTINCT group_id FROM raft_entry ORDER BY 1",
  snapshot:
    "SELECT snap_id, idx, term, conf, size, chunks, data_crc, crc FROM raft_snapshot WHERE group_id = ?",
  putSnapshot:
    "INSERT OR REPLACE INTO raft_snapshot (group_id, snap_id, idx, term, conf, size, chunks, data_crc, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  maxSnapId:
    "SELECT max(m) AS m FROM (SELECT max(snap_id) AS m FROM raft_snapshot_chunk WHERE group_id = ?1 UNION ALL SELECT max(snap_id) FROM raft_snapshot WHERE group_id = ?1)",
  chunks: "SELECT seq, data, crc FROM raft_snapshot_chunk WHERE group_id = ? AND snap_id = ? ORDER BY seq",
  insertChunk: "INSERT INTO raft_snapshot_chunk (group_id, snap_id, seq, data, crc) VALUES (?, ?, ?, ?, ?)",
  dropOtherChunks: "DELETE FROM raft_snapshot_chunk WHERE group_id = ? AND snap_id <> ?",
  dropChunks: "DELETE FROM raft_snapshot_chunk WHERE group_id = ? AND snap_id = ?",
} as const

const AUTO_VACUUM = ["none", "full", "incremental"] as const

export class LogStore {
  private quarantine: CorruptionError | null = null
  private readonly issuedSnapIds = new Map<GroupId, number>()
  readonly snapshotChunkBytes: number

  private constructor(
    readonly db: SqliteDatabase,
    options: LogStoreOptions,
  ) {
    this.snapshotChunkBytes = options.snapshotChunkBytes ?? 256 * 1024
    if (!(this.snapshotChunkBytes >= 1)) throw new RangeError("snapshotChunkBytes must be >= 1")
  }

  /** Creates the tables if needed. The database should come from a driver's `open` (WAL, synchronous, auto_vacuum). */
  static open(db: SqliteDatabase, options: LogStoreOptions = {}): LogStore {
    const store = new LogStore(db, options)
    store.guarded(() => {
      // A file from a newer lattice is refused before anything in it is touched.
      ensureFormat(db, RAFT_DB_FORMAT)
      store.checkSchema(true)
      db.exec(LOG_SCHEMA)
      store.checkSchema(false)
    })
    return store
  }

  /**
   * Either all log tables exist with their columns, or (a new store) none does. A table that
   * vanished or changed shape (a damaged schema page) must not be silently recreated empty.
   */
  private checkSchema(beforeCreate: boolean): void {
    const found = Object.entries(LOG_TABLES).map(([table, columns]) => {
      const actual = this.db
        .prepare(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`)
        .all()
        .map((r) => r.name)
      return { table, columns, actual }
    })
    const present = found.filter((t) => t.actual.length > 0)
    if (beforeCreate && present.length === 0) return
    for (const t of found) {
      if (t.actual.join(",") !== t.columns.join(",")) {
        const detail =
          t.actual.length === 0
            ? `table ${t.table} is missing while the other log tables exist`
            : `table ${t.table} has columns (${t.actual.join(", ")}), expected (${t.columns.join(", ")})`
        throw corruption(this.file, "schema", null, null, detail)
      }
    }
  }

  get file(): string {
    return this.db.path
  }

  /** The error that quarantined this store, or null while it is healthy. */
  get quarantined(): CorruptionError | null {
    return this.quarantine
  }

  /** Runs `fn`, turning any corruption it meets into the store's quarantine. */
  guarded<T>(fn: () => T): T {
    if (this.quarantine !== null) throw this.quarantine
    try {
      return fn()
    } catch (error) {
      if (error instanceof CorruptionError) {
        this.quarantine = error
      } else if (isSqliteCorruption(error)) {
        this.quarantine = corruption(
          this.file,
          "database file",
          null,
          null,
          `SQLite: ${(error as Error).message}`,
        )
      }
      throw this.quarantine ?? error
    }
  }

  // ---------------------------------------------------------------- writes

  /** Writes the persistent part of one Ready in one transaction. */
  persistReady(group: GroupId, ready: ReadyToPersist): void {
    this.guarded(() => this.db.transaction(() => this.applyReady(group, ready)))
  }

  /**
   * Writes one Ready inside the caller's open transaction (the group committer's). Order:
   * snapshot, truncation, append, compaction, hard state.
   */
  applyReady(group: GroupId, ready: ReadyToPersist): void {
    this.guarded(() => {
      if (ready.snapshot !== null) this.writeSnapshotInTx(group, ready.snapshot)
      if (ready.truncateFrom !== null) this.truncateInTx(group, ready.truncateFrom)
      if (ready.entries.length > 0) this.appendInTx(group, ready.entries)
      if (ready.compactTo !== null) this.compactInTx(group, ready.compactTo)
      if (ready.hardState !== null) this.putHardStateInTx(group, ready.hardState)
    })
  }

  /** Records the bootstrap membership of a group (used when it has no snapshot). */
  bootstrap(group: GroupId, conf: ConfState): void {
    this.guarded(() =>
      this.db.transaction(() => {
        const floor = this.floorOf(group)
        this.putGroupRow(group, floor.index, floor.term, JSON.stringify(conf))
      }),
    )
  }

  /** Deletes entries up to `index` (inclusive) in its own transaction; see `reclaimSpace`. */
  compact(group: GroupId, index: number): void {
    this.guarded(() => this.db.transaction(() => this.compactInTx(group, index)))
  }

  /** Streams a snapshot in: `write` chunks, then `commit` (or `abort`). Nothing is visible before commit. */
  beginSnapshot(group: GroupId, meta: SnapshotMeta): SnapshotWriter {
    return this.guarded(() => new SnapshotWriter(this, group, meta, this.nextSnapId(group)))
  }

  private appendInTx(group: GroupId, entries: readonly Entry[]): void {
    const first = entries[0]!.index
    const floor = this.floorOf(group)
    const last = this.lastIndexRaw(group) ?? floor.index
    if (first <= floor.index) {
      throw this.misuse(
        `group ${group}: append at ${first} is at or below the compaction floor ${floor.index}`,
      )
    }
    if (first > last + 1) {
      throw this.misuse(`group ${group}: append at ${first} leaves a gap after the last index ${last}`)
    }
    // An append over existing indexes replaces the conflicting suffix (as etcd's storage does).
    if (first <= last) this.db.prepare(SQL.deleteFrom).run(group, first)
    const insert = this.db.prepare(SQL.insertEntry)
    let expected = first
    for (const e of entries) {
      if (e.index !== expected) {
        throw this.misuse(
          `group ${group}: entries are not contiguous (${e.index} where ${expected} was expected)`,
        )
      }
      const kind = ENTRY_KIND[e.type]
      insert.run(group, e.index, e.term, kind, e.data, entryCrc(group, e.index, e.term, kind, e.data))
      expected++
    }
  }

  private truncateInTx(group: GroupId, from: number): void {
    const floor = this.floorOf(group)
    if (from <= floor.index) {
      throw this.misuse(
        `group ${group}: cannot truncate from ${from}, at or below the compaction floor ${floor.index}`,
      )
    }
    this.db.prepare(SQL.deleteFrom).run(group, from)
  }

  private compactInTx(group: GroupId, index: number): void {
    const floor = this.floorOf(group)
    if (index <= floor.index) return
    const entry = this.entryAt(group, index)
    if (entry === undefined) {
      throw this.misuse(`group ${group}: cannot compact to ${index}, there is no entry at that index`)
    }
    this.db.prepare(SQL.deleteUpTo).run(group, index)
    this.putGroupRow(group, index, entry.term, this.bootstrapConfRaw(group))
  }

  private putHardStateInTx(group: GroupId, hs: HardState): void {
    this.db.prepare(SQL.putHardState).run(group, hs.term, hs.vote, hs.commit, hardStateCrc(group, hs))
  }

  private writeSnapshotInTx(group: GroupId, snapshot: Snapshot): void {
    const snapId = this.nextSnapId(group)
    const data = snapshot.data
    let state = CRC32_INIT
    let chunks = 0
    for (let off = 0; off < data.length; off += this.snapshotChunkBytes) {
      const chunk = data.subarray(off, Math.min(data.length, off + this.snapshotChunkBytes))
      this.insertChunkInTx(group, snapId, chunks++, chunk)
      state = crc32Update(state, chunk)
    }
    this.finalizeSnapshotInTx(group, snapshot.meta, snapId, data.length, chunks, crc32Final(state))
  }

  /** @internal Used by SnapshotWriter. */
  insertChunkInTx(group: GroupId, snapId: number, seq: number, chunk: Uint8Array): void {
    this.db.prepare(SQL.insertChunk).run(group, snapId, seq, chunk, chunkCrc(group, snapId, seq, chunk))
  }

  /** @internal Used by SnapshotWriter.abort. */
  dropChunksInTx(group: GroupId, snapId: number): void {
    this.db.prepare(SQL.dropChunks).run(group, snapId)
  }

  /**
   * @internal Makes a staged snapshot the group's snapshot. The log keeps the entries after
   * the snapshot only if it holds the snapshot's last entry with the same term (Raft §7);
   * otherwise the whole log is replaced by the snapshot.
   */
  finalizeSnapshotInTx(
    group: GroupId,
    meta: SnapshotMeta,
    snapId: number,
    size: number,
    chunks: number,
    dataCrc: number,
  ): void {
    const current = this.snapshotRow(group)
    if (current !== null && current.meta.index > meta.index) {
      throw this.misuse(
        `group ${group}: snapshot at ${meta.index} is older than the stored one at ${current.meta.index}`,
      )
    }
    const conf = JSON.stringify(meta.conf)
    this.db
      .prepare(SQL.putSnapshot)
      .run(
        group,
        snapId,
        meta.index,
        meta.term,
        conf,
        size,
        chunks,
        dataCrc,
        snapshotRowCrc(group, snapId, meta.index, meta.term, size, chunks, dataCrc, conf),
      )
    this.db.prepare(SQL.dropOtherChunks).run(group, snapId)
    const floor = this.floorOf(group)
    if (meta.index <= floor.index) return
    const matching = this.entryAt(group, meta.index)
    if (matching !== undefined && matching.term === meta.term) {
      this.db.prepare(SQL.deleteUpTo).run(group, meta.index)
    } else {
      this.db.prepare(SQL.deleteAll).run(group)
    }
    this.putGroupRow(group, meta.index, meta.term, this.bootstrapConfRaw(group))
  }

  private putGroupRow(group: GroupId, floorIdx: number, floorTerm: number, conf: string | null): void {
    this.db
      .prepare(SQL.putGroup)
      .run(group, floorIdx, floorTerm, conf, groupRowCrc(group, floorIdx, floorTerm, conf))
  }

  private nextSnapId(group: GroupId): number {
    const row = this.db.prepare(SQL.maxSnapId).get(group)
    const stored = row === undefined || row.m === null ? 0 : int(row.m)
    // A writer that has not stored a chunk yet still owns its id: never hand it out twice.
    const id = Math.max(stored, this.issuedSnapIds.get(group) ?? 0) + 1
    this.issuedSnapIds.set(group, id)
    return id
  }

  private misuse(detail: string): LogStoreError {
    return new LogStoreError({
      file: this.file,
      message: `${this.file}: ${detail}; the Ready was not persisted`,
    })
  }

  // ---------------------------------------------------------------- reads

  /** Everything a replica needs at restart, fully verified. */
  load(group: GroupId, options: LoadOptions = {}): LoadedLog {
    return this.guarded(() => {
      const hardState = this.hardState(group)
      const floor = this.floorOf(group)
      const snap = this.snapshotRow(group)
      const entries: Entry[] = []
      let expected = floor.index + 1
      let prevTerm = floor.term
      for (const row of this.db.prepare(SQL.after).iterate(group, floor.index)) {
        const e = decodeEntry(this.file, group, row)
        if (e.index !== expected) {
          throw corruption(
            this.file,
            "log",
            group,
            expected,
            `entry ${expected} is missing (found ${e.index} next)`,
          )
        }
        if (e.term < prevTerm) {
          throw corruption(
            this.file,
            "log",
            group,
            e.index,
            `term ${e.term} is lower than the previous ${prevTerm}`,
          )
        }
        entries.push(e)
        expected++
        prevTerm = e.term
      }
      const last = expected - 1
      if (hardState.commit > last) {
        throw corruption(
          this.file,
          "hard state",
          group,
          hardState.commit,
          `commit is beyond the last index ${last}`,
        )
      }
      // Raft persists a term before entries of that term; only a stored hard state can be checked.
      if (hardState !== emptyHardState && hardState.term < prevTerm) {
        throw corruption(
          this.file,
          "hard state",
          group,
          last,
          `term ${hardState.term} is below the log's ${prevTerm}`,
        )
      }
      if (snap !== null && snap.meta.index > floor.index) {
        throw corruption(
          this.file,
          "snapshot",
          group,
          snap.meta.index,
          `it is above the floor ${floor.index}`,
        )
      }
      const snapshot: Snapshot | null =
        snap === null
          ? null
          : {
              meta: snap.meta,
              data:
                options.snapshotData === false ? new Uint8Array(0) : concat([...this.readSnapshot(group)]),
            }
      return { hardState, snapshot, entries, bootstrapConf: this.bootstrapConf(group), floor }
    })
  }

  /** Entries in [lo, hi), verified; stops early once `maxBytes` of data is gathered (at least one entry). */
  entries(group: GroupId, lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    return this.guarded(() => {
      const floor = this.floorOf(group)
      if (lo <= floor.index) throw this.unavailable(`entries from ${lo} are compacted (floor ${floor.index})`)
      const last = this.lastIndexRaw(group) ?? floor.index
      if (hi - 1 > last)
        throw this.unavailable(`entries up to ${hi - 1} requested but the log ends at ${last}`)
      const out: Entry[] = []
      let bytes = 0
      for (const row of this.db.prepare(SQL.range).iterate(group, lo, hi)) {
        const e = decodeEntry(this.file, group, row)
        if (e.index !== lo + out.length) {
          throw corruption(this.file, "log", group, lo + out.length, "entry is missing")
        }
        bytes += e.data.length
        if (out.length > 0 && bytes > maxBytes) break
        out.push(e)
      }
      if (out.length < hi - lo && !(bytes > maxBytes)) {
        throw corruption(this.file, "log", group, lo + out.length, "entry is missing")
      }
      return out
    })
  }

  /** The term of the entry at `index`, the floor's term at the floor, or null when unknown. */
  term(group: GroupId, index: number): number | null {
    return this.guarded(() => {
      const floor = this.floorOf(group)
      if (index === floor.index) return floor.term
      if (index < floor.index) return null
      return this.entryAt(group, index)?.term ?? null
    })
  }

  lastIndex(group: GroupId): number {
    return this.guarded(() => this.lastIndexRaw(group) ?? this.floorOf(group).index)
  }

  firstIndex(group: GroupId): number {
    return this.guarded(() => this.floorOf(group).index + 1)
  }

  hardState(group: GroupId): HardState {
    return this.guarded(() => {
      const row = this.db.prepare(SQL.hardState).get(group)
      return row === undefined ? emptyHardState : decodeHardState(this.file, group, row)
    })
  }

  floor(group: GroupId): LogFloor {
    return this.guarded(() => this.floorOf(group))
  }

  bootstrapConf(group: GroupId): ConfState {
    return this.guarded(() => {
      const raw = this.bootstrapConfRaw(group)
      return raw === null ? emptyConfState : (JSON.parse(raw) as ConfState)
    })
  }

  snapshotMeta(group: GroupId): SnapshotMeta | null {
    return this.guarded(() => this.snapshotRow(group)?.meta ?? null)
  }

  /**
   * Streams the group's snapshot data chunk by chunk. Each chunk is verified before it is
   * yielded; the count, size and whole-data checksum are verified before the iteration ends.
   */
  *readSnapshot(group: GroupId): Generator<Uint8Array, void, undefined> {
    const snap = this.guarded(() => this.snapshotRow(group))
    if (snap === null) return
    const fail = (seq: number | null, detail: string) =>
      this.guarded(() => {
        throw corruption(
          this.file,
          "snapshot chunk",
          group,
          seq,
          `${detail} (snapshot at index ${snap.meta.index})`,
        )
      })
    const rows = this.guarded(() => this.db.prepare(SQL.chunks).iterate(group, snap.snapId))
    let seq = 0
    let size = 0
    let state = CRC32_INIT
    while (true) {
      const next = this.guarded(() => rows.next())
      if (next.done === true) break
      const row: SqlRow = next.value
      const data = row.data
      if (Number(row.seq) !== seq) fail(seq, "chunk is missing")
      if (!(data instanceof Uint8Array) || chunkCrc(group, snap.snapId, seq, data) !== Number(row.crc)) {
        fail(seq, "checksum mismatch")
      }
      const chunk = data as Uint8Array
      state = crc32Update(state, chunk)
      size += chunk.length
      seq++
      yield chunk
    }
    if (seq !== snap.chunks || size !== snap.size || crc32Final(state) !== snap.dataCrc) {
      fail(null, `expected ${snap.chunks} chunks of ${snap.size} bytes, found ${seq} chunks of ${size} bytes`)
    }
  }

  /** Every group that has any state in this store. */
  groups(): GroupId[] {
    return this.guarded(() =>
      this.db
        .prepare(SQL.groups)
        .all()
        .map((r) => int(Object.values(r)[0])),
    )
  }

  /** Verifies every row of every group (entries, hard state, snapshots); throws on the first damage. */
  verify(): void {
    for (const group of this.groups()) {
      this.load(group, { snapshotData: false })
      for (const _chunk of this.readSnapshot(group)) {
        // each chunk, and the whole snapshot at the end, is verified while iterating
      }
    }
  }

  private entryAt(group: GroupId, index: number): Entry | undefined {
    const row = this.db.prepare(SQL.entryTerm).get(group, index)
    return row === undefined ? undefined : decodeEntry(this.file, group, row)
  }

  private lastIndexRaw(group: GroupId): number | undefined {
    const row = this.db.prepare(SQL.lastIdx).get(group)
    return row === undefined ? undefined : int(row.idx)
  }

  private groupRow(group: GroupId): { floor: LogFloor; conf: string | null } {
    const row = this.db.prepare(SQL.group).get(group)
    if (row === undefined) return { floor: { index: 0, term: 0 }, conf: null }
    const fail = (detail: string) => corruption(this.file, "group record", group, null, detail)
    const conf = row.bootstrap_conf
    if (conf !== null && typeof conf !== "string") throw fail("bootstrap membership is not text")
    let floor: LogFloor
    try {
      floor = { index: int(row.floor_idx), term: int(row.floor_term) }
    } catch {
      throw fail("floor is not an integer")
    }
    if (groupRowCrc(group, floor.index, floor.term, conf) !== Number(row.crc)) throw fail("checksum mismatch")
    return { floor, conf }
  }

  private floorOf(group: GroupId): LogFloor {
    return this.groupRow(group).floor
  }

  private bootstrapConfRaw(group: GroupId): string | null {
    return this.groupRow(group).conf
  }

  /** @internal */
  snapshotRow(group: GroupId): SnapshotRow | null {
    const row = this.db.prepare(SQL.snapshot).get(group)
    if (row === undefined) return null
    const fail = (detail: string) => corruption(this.file, "snapshot metadata", group, null, detail)
    const conf = row.conf
    if (typeof conf !== "string") throw fail("membership is not text")
    let r: SnapshotRow
    try {
      r = {
        snapId: int(row.snap_id),
        meta: { index: int(row.idx), term: int(row.term), conf: JSON.parse(conf) as ConfState },
        size: int(row.size),
        chunks: int(row.chunks),
        dataCrc: int(row.data_crc),
      }
    } catch {
      throw fail("a column does not decode")
    }
    const crc = snapshotRowCrc(group, r.snapId, r.meta.index, r.meta.term, r.size, r.chunks, r.dataCrc, conf)
    if (crc !== Number(row.crc)) throw fail("checksum mismatch")
    return r
  }

  private unavailable(detail: string): LogStoreError {
    return new LogStoreError({ file: this.file, message: `${this.file}: ${detail}` })
  }

  // ---------------------------------------------------------------- space

  space(): SpaceReport {
    return this.guarded(() => ({
      pageSize: int(this.db.pragma("page_size")),
      pageCount: int(this.db.pragma("page_count")),
      freelistPages: int(this.db.pragma("freelist_count")),
      autoVacuum: AUTO_VACUUM[int(this.db.pragma("auto_vacuum"))] ?? "none",
    }))
  }

  /**
   * Returns at most `maxPages` free pages to the file system (`PRAGMA incremental_vacuum`).
   * Each call is one short write transaction, so writers wait at most for one small step;
   * call it repeatedly (for example once per tick) until `freelistPages` reaches 0.
   */
  reclaimSpace(maxPages: number): ReclaimResult {
    return this.guarded(() => {
      const n = Math.max(0, Math.floor(maxPages))
      const before = int(this.db.pragma("freelist_count"))
      if (n > 0 && before > 0) {
        // Every step of this pragma frees one page: run it to completion.
        this.db.prepare(`PRAGMA incremental_vacuum(${n})`).all()
      }
      const after = int(this.db.pragma("freelist_count"))
      return { reclaimedPages: before - after, freelistPages: after }
    })
  }
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}
