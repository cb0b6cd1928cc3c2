/**
 * Crash safety with real processes: a child appends through the log store with group commit
 * and acknowledges only durable entries; we SIGKILL it at seeded points, LATTICE_CRASH_KILLS
 * times in a row (default 100), and after every kill check that nothing acknowledged was lost.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { mulberry32 } from "../../unit/storage/harness.ts"
import { buildChild, type KillPoint, runCycle, verifyAfterCrash } from "./crash-cycle.ts"

const KILLS = Number(process.env.LATTICE_CRASH_KILLS ?? 100)
const SEED = Number(process.env.LATTICE_CRASH_SEED ?? 20261124)

const killPoint = (rnd: () => number): KillPoint =>
  rnd() % 20 === 0 ? { kind: "atSpawn" } : { kind: "afterAcks", acks: 1 + (rnd() % 20) }

const buildDir = mkdtempSync(join(tmpdir(), "lattice-crash-child-"))
let child = ""
beforeAll(async () => {
  child = await buildChild(buildDir)
})
afterAll(() => rmSync(buildDir, { recursive: true, force: true }))

const withTempDb = async (fn: (path: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-crash-"))
  try {
    await fn(join(dir, "node.db"))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const killRepeatedly = (kills: number, seed: number, extraArgs: readonly string[]) =>
  withTempDb(async (path) => {
    const rnd = mulberry32(seed)
    const acked = new Map<number, number>()
    let totalAcked = 0
    let snapshots = 0
    for (let cycle = 1; cycle <= kills; cycle++) {
      const result = await runCycle(child, path, cycle, rnd(), killPoint(rnd), extraArgs)
      for (const [g, i] of result.acked) {
        totalAcked += i - (acked.get(g) ?? 0)
        acked.set(g, Math.max(acked.get(g) ?? 0, i))
      }
      try {
        snapshots = verifyAfterCrash(path, cycle, acked)
      } catch (error) {
        throw new Error(`after kill ${cycle} (seed ${seed}): ${(error as Error).message}`)
      }
    }
    expect(totalAcked).toBeGreaterThan(kills) // the child made real progress between kills
    if (kills >= 50) expect(snapshots).toBeGreaterThan(0) // and the workload took snapshots
  })

test(
  `SIGKILL ${KILLS} times in a row: every acknowledged entry survives, contiguous and checksummed`,
  () => killRepeatedly(KILLS, SEED, []),
  120_000,
)

test(
  `the same with the node's WAL sync off the JS thread (synchronous=NORMAL + fdatasync), ${Math.ceil(KILLS / 2)} kills`,
  () => killRepeatedly(Math.ceil(KILLS / 2), SEED + 2, ["--wal-sync"]),
  120_000,
)

test(
  "the check catches a child that acknowledges before durability",
  () =>
    withTempDb(async (path) => {
      const rnd = mulberry32(SEED + 1)
      const acked = new Map<number, number>()
      let caught: Error | null = null
      for (let cycle = 1; cycle <= 30 && caught === null; cycle++) {
        const result = await runCycle(
          child,
          path,
          cycle,
          rnd(),
          { kind: "afterAcks", acks: 1 + (rnd() % 100) },
          ["--ack-early"],
        )
        for (const [g, i] of result.acked) acked.set(g, Math.max(acked.get(g) ?? 0, i))
        try {
          verifyAfterCrash(path, cycle, acked)
        } catch (error) {
          caught = error as Error
        }
      }
      expect(caught?.message).toMatch(/acknowledged up to \d+ but the log ends at \d+/)
    }),
  60_000,
)
