/**
 * What the shared storage suite needs from a test runner: a way to register a test, plus the
 * driver under test. Bun (`storage-bun.test.ts`) and Deno (`test/deno/storage/test.ts`) each
 * provide one; the tests themselves use only `node:assert/strict` and `node:fs`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SqliteDatabase, SqliteDriverImpl } from "../../../src/storage/driver.ts"
import { LogStore, type LogStoreOptions } from "../../../src/storage/log-store.ts"

export interface Harness {
  readonly driver: SqliteDriverImpl
  /** `timeoutMs` is for the randomized tests on a loaded machine; runners without one ignore it. */
  readonly test: (name: string, fn: () => void | Promise<void>, timeoutMs?: number) => void
  /** Operation sequences per seed in the model test (scale with LATTICE_STORAGE_MODEL_STEPS). */
  readonly modelSteps: number
  readonly modelSeeds: number
  /** Random single-bit flips of the db file (scale with LATTICE_STORAGE_FLIPS). */
  readonly flipTrials: number
}

/** A fresh directory for one test, removed by `cleanup`. */
export const tempDir = (): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-storage-"))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Runs `fn` with a database file in a fresh temp dir and cleans up afterwards. */
export const withDb = async (
  driver: SqliteDriverImpl,
  fn: (ctx: { dir: string; path: string; open: () => SqliteDatabase }) => void | Promise<void>,
): Promise<void> => {
  const { dir, cleanup } = tempDir()
  const path = join(dir, "node.db")
  const opened: SqliteDatabase[] = []
  const open = () => {
    const db = driver.open(path, { synchronous: "FULL" })
    opened.push(db)
    return db
  }
  try {
    await fn({ dir, path, open })
  } finally {
    for (const db of opened) {
      try {
        db.close()
      } catch {
        // already closed by the test
      }
    }
    cleanup()
  }
}

export const openStore = (db: SqliteDatabase, options: LogStoreOptions = {}): LogStore =>
  LogStore.open(db, options)

export const bytes = (...values: number[]): Uint8Array => new Uint8Array(values)

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Deterministic pseudo-random bytes (mulberry32), so a test's data is reproducible. */
export const seededBytes = (seed: number, length: number): Uint8Array => {
  const rnd = mulberry32(seed)
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = rnd() & 0xff
  return out
}

export const mulberry32 = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}
