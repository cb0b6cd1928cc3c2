/** Test helpers: a state machine over a fresh temporary SQLite file, and byte shorthands. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { KvCommand, KvOutcome, KvResponse } from "../../../schemas/kv.ts"
import { utf8 } from "../../../src/kv/bytes.ts"
import { KvStateMachine, type KvStateMachineOptions } from "../../../src/kv/state-machine.ts"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import type { SqliteDatabase } from "../../../src/storage/driver.ts"

export const b = utf8

export interface Fixture {
  readonly db: SqliteDatabase
  readonly sm: KvStateMachine
  readonly dir: string
  /** Applies a command at the next index and returns its outcome. */
  run(command: KvCommand): KvOutcome
  /** Applies a command that must succeed and returns its response. */
  ok<T extends KvResponse["type"]>(
    command: KvCommand & { type: T },
  ): Extract<KvResponse, { type: T }>["response"]
  close(): void
}

export const openFixture = (options: Partial<KvStateMachineOptions> = {}, dir?: string): Fixture => {
  const where = dir ?? mkdtempSync(join(tmpdir(), "lattice-kv-"))
  const db = bunSqliteDriver.open(join(where, "kv.db"), { synchronous: "OFF" })
  const sm = KvStateMachine.open(db, { group: 1, ...options })
  const run = (command: KvCommand): KvOutcome => sm.apply(sm.appliedIndex + 1, command).outcome
  return {
    db,
    sm,
    dir: where,
    run,
    ok: (command) => {
      const o = run(command)
      if (!o.ok) throw new Error(`expected success, got ${o.error.message}`)
      return o.response.response as never
    },
    close: () => {
      db.close()
      if (dir === undefined) rmSync(where, { recursive: true, force: true })
    },
  }
}
