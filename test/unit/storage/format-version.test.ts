/**
 * On-disk format versions: a file from before versioning is migrated (and keeps its data), a new
 * file is stamped, a file from a newer lattice is refused with what to do, also by a starting node.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { KvError } from "../../../schemas/kv.ts"
import { fromUtf8, utf8 } from "../../../src/kv/bytes.ts"
import { KV_DB_FORMAT } from "../../../src/kv/format.ts"
import { KvStateMachine } from "../../../src/kv/state-machine.ts"
import { LocalCluster } from "../../../src/node/local-cluster.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import {
  ensureFormat,
  FormatVersionError,
  formatOf,
  RAFT_DB_FORMAT,
} from "../../../src/storage/format-version.ts"
import { LogStore } from "../../../src/storage/log-store.ts"
import { testNodeOptions } from "../../integration/node/cluster-support.ts"

let dir = ""
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
  dir = ""
})

const open = (path: string) => bunSqliteDriver.open(path, { synchronous: "FULL" })
const conf = { voters: ["n1"], learners: [], votersOutgoing: [] }
const entry = (index: number) => ({ index, term: 1, type: "normal" as const, data: new Uint8Array([index]) })

describe("on-disk format version", () => {
  test("a new raft.db is stamped with the current format", () => {
    dir = mkdtempSync(join(tmpdir(), "lattice-format-"))
    const db = open(join(dir, "raft.db"))
    LogStore.open(db)
    expect(Number(db.pragma("user_version"))).toBe(RAFT_DB_FORMAT.current)
    db.close()
  })

  test("a raft.db from before versioning (format 1) is migrated and keeps its log", () => {
    dir = mkdtempSync(join(tmpdir(), "lattice-format-"))
    const path = join(dir, "raft.db")
    let db = open(path)
    const store = LogStore.open(db)
    store.bootstrap(1, conf)
    store.persistReady(1, {
      hardState: { term: 1, vote: "n1", commit: 2 },
      truncateFrom: null,
      entries: [entry(1), entry(2)],
      snapshot: null,
      compactTo: null,
    })
    db.exec("PRAGMA user_version = 0") // as written by a lattice before versioning
    db.close()
    db = open(path)
    expect(formatOf(db)).toBe(1)
    const loaded = LogStore.open(db).load(1)
    expect(Number(db.pragma("user_version"))).toBe(RAFT_DB_FORMAT.current)
    expect(loaded.entries.map((e) => e.index)).toEqual([1, 2])
    expect(loaded.hardState.commit).toBe(2)
    db.close()
  })

  test("a raft.db from a newer lattice is refused, untouched, with what to do", () => {
    dir = mkdtempSync(join(tmpdir(), "lattice-format-"))
    const path = join(dir, "raft.db")
    let db = open(path)
    LogStore.open(db)
    db.exec(`PRAGMA user_version = ${RAFT_DB_FORMAT.current + 1}`)
    db.close()
    db = open(path)
    let error: unknown
    try {
      LogStore.open(db)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(FormatVersionError)
    const message = (error as Error).message
    expect(message).toContain(`format version ${RAFT_DB_FORMAT.current + 1} was written by a newer lattice`)
    expect(message).toContain(`reads versions up to ${RAFT_DB_FORMAT.current}`)
    expect(message).toContain("Run the newer lattice")
    expect(Number(db.pragma("user_version"))).toBe(RAFT_DB_FORMAT.current + 1)
    db.close()
  })

  test("a node refuses to start on a state machine file from a newer lattice", async () => {
    dir = mkdtempSync(join(tmpdir(), "lattice-format-"))
    const options = testNodeOptions("n1", ["n1"], dir)
    mkdirSync(options.dataDir, { recursive: true })
    const db = open(join(options.dataDir, "kv-1.db"))
    db.exec("CREATE TABLE future (x INTEGER)")
    db.exec("PRAGMA user_version = 7")
    db.close()
    const cluster = new LocalCluster([{ options }])
    let error: unknown
    try {
      await cluster.start("n1")
    } catch (e) {
      error = e
    }
    await cluster.stopAll()
    expect(String(error)).toContain("state machine format version 7 was written by a newer lattice")
  })

  test("a format-2 state machine file (rows keyed by key) moves to revision keys at format 3 and keeps its data", () => {
    dir = mkdtempSync(join(tmpdir(), "lattice-format-"))
    const path = join(dir, "kv-1.db")
    let db = open(path)
    // A format-2 file: the KV tables as the previous release created them, stamped 2.
    db.exec(`CREATE TABLE kv_1_rows (
      tenant INTEGER NOT NULL, key BLOB NOT NULL, rev INTEGER NOT NULL,
      create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL, value BLOB NOT NULL,
      PRIMARY KEY (tenant, key, rev)) WITHOUT ROWID`)
    db.exec("CREATE TABLE kv_1_tenants (name TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE)")
    db.exec("INSERT INTO kv_1_tenants VALUES ('default', 1)")
    const ins = db.prepare("INSERT INTO kv_1_rows VALUES (1, ?, ?, ?, ?, 0, ?)")
    ins.run(utf8("a"), 2, 2, 1, utf8("one"))
    ins.run(utf8("a"), 3, 2, 2, utf8("two"))
    db.exec("PRAGMA user_version = 2")
    db.close()

    db = open(path)
    expect(ensureFormat(db, KV_DB_FORMAT)).toBe(2)
    expect(Number(db.pragma("user_version"))).toBe(3)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'kv_1_rows'").get()).toBeUndefined()
    db.exec("UPDATE kv_1_state SET revision = 3, applied_index = 2")
    const sm = KvStateMachine.open(db, { group: 1 })
    const r = sm.range({ key: utf8("a") })
    if (r instanceof KvError) throw r
    expect(r.kvs.map((kv) => [fromUtf8(kv.value), kv.version])).toEqual([["two", 2]])
    db.close()
  })
})
