/**
 * The simulator in `bun test`: a sweep of seeds across every fault profile must pass all safety,
 * liveness and linearizability checks. `SIM_SEEDS` scales the sweep (per profile).
 */
import { describe, expect, test } from "bun:test"
import { profileNames } from "./profiles.ts"
import { formatFailure, runSeeds } from "./runner.ts"

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
      },
      { timeout: 120_000 },
    )
  }
})
