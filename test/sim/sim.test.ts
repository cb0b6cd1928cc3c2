/**
 * The simulator in `bun test`: a sweep of seeds across every fault profile must pass all safety,
 * liveness and linearizability checks. `SIM_SEEDS` scales the sweep (per profile).
 */
import { describe, expect, test } from "bun:test"
import { profileNames, profiles } from "./profiles.ts"
import { formatFailure, runSeeds, unknownTooOften } from "./runner.ts"
import { runSimulation } from "./simulation.ts"

const seedsPerProfile = Number(process.env.SIM_SEEDS ?? 20)

describe("simulator seed sweep", () => {
  for (const [i, profile] of profileNames.entries()) {
    test(
      `${seedsPerProfile} seeds under the ${profile} profile`,
      () => {
        const summary = runSeeds({ seeds: seedsPerProfile, seedStart: 1000 * (i + 1), profile })
        const report = summary.failures.map((f) => formatFailure(f, { profile })).join("\n")
        if (report) console.log(report)
        expect(summary.failed).toBe(0)
        expect(summary.passed).toBe(seedsPerProfile)
        expect(unknownTooOften(summary)).toBe(false)
      },
      { timeout: 120_000 },
    )
  }
})

describe("simulator determinism and command line", () => {
  test("one seed replays exactly: same trace, same statistics", () => {
    const a = runSimulation({ seed: 77, profile: profiles.everything! })
    const b = runSimulation({ seed: 77, profile: profiles.everything! })
    expect(b.trace).toEqual(a.trace)
    expect(b.stats).toEqual(a.stats)
    const c = runSimulation({ seed: 78, profile: profiles.everything! })
    expect(c.trace).not.toEqual(a.trace)
  })

  test("main.ts prints the replay command and the summary line, and exits non-zero on failure", () => {
    const run = (extra: string[]) =>
      Bun.spawnSync([process.execPath, "test/sim/main.ts", "--seeds", "1", "--seed-start", "1", ...extra], {
        cwd: `${import.meta.dir}/../..`,
      })
    const failing = run(["--profile", "figure8", "--inject-bug", "commitPreviousTerm"])
    const out = failing.stdout.toString().trim().split("\n")
    expect(failing.exitCode).toBe(1)
    expect(out.at(-1)).toBe("0 passed, 1 failed")
    const failLine = out.find((l) => l.startsWith("FAIL seed 1 (figure8) leaderCompleteness:"))
    expect(failLine).toContain(
      "| replay: bun test/sim/main.ts --seeds 1 --seed-start 1 --profile figure8 --inject-bug commitPreviousTerm",
    )
    const passing = run(["--profile", "calm"])
    expect(passing.exitCode).toBe(0)
    expect(passing.stdout.toString().trim().split("\n").at(-1)).toBe("1 passed, 0 failed")
  })
})
