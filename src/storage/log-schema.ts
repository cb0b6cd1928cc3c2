/**
 * Tables of the Raft log store. Every table is keyed by group id: one node database holds the
 * logs of all its Raft groups. Each row carries a CRC-32 over its fields (see `crc32Fields`),
 * including the group and index, so a row copied to the wrong place does not verify.
 */
export const LOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS raft_entry (
  group_id INTEGER NOT NULL,
  idx      INTEGER NOT NULL,
  term     INTEGER NOT NULL,
  kind     INTEGER NOT NULL,
  data     BLOB    NOT NULL,
  crc      INTEGER NOT NULL,
  PRIMARY KEY (group_id, idx)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS raft_hard_state (
  group_id   INTEGER PRIMARY KEY,
  term       INTEGER NOT NULL,
  vote       TEXT,
  commit_idx INTEGER NOT NULL,
  crc        INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS raft_group (
  group_id       INTEGER PRIMARY KEY,
  floor_idx      INTEGER NOT NULL,
  floor_term     INTEGER NOT NULL,
  bootstrap_conf TEXT,
  crc            INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS raft_snapshot (
  group_id INTEGER PRIMARY KEY,
  snap_id  INTEGER NOT NULL,
  idx      INTEGER NOT NULL,
  term     INTEGER NOT NULL,
  conf     TEXT    NOT NULL,
  size     INTEGER NOT NULL,
  chunks   INTEGER NOT NULL,
  data_crc INTEGER NOT NULL,
  crc      INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS raft_snapshot_chunk (
  group_id INTEGER NOT NULL,
  snap_id  INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  data     BLOB    NOT NULL,
  crc      INTEGER NOT NULL,
  PRIMARY KEY (group_id, snap_id, seq)
);
`

/** Entry types as stored (a small integer, not the string). */
export const ENTRY_KIND = { normal: 0, conf: 1, noop: 2 } as const
export const ENTRY_TYPE = ["normal", "conf", "noop"] as const

/** The columns of each table, in order: checked at open so a damaged schema is not used. */
export const LOG_TABLES: Readonly<Record<string, readonly string[]>> = {
  raft_entry: ["group_id", "idx", "term", "kind", "data", "crc"],
  raft_hard_state: ["group_id", "term", "vote", "commit_idx", "crc"],
  raft_group: ["group_id", "floor_idx", "floor_term", "bootstrap_conf", "crc"],
  raft_snapshot: ["group_id", "snap_id", "idx", "term", "conf", "size", "chunks", "data_crc", "crc"],
  raft_snapshot_chunk: ["group_id", "snap_id", "seq", "data", "crc"],
}
