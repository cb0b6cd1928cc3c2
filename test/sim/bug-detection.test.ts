/**
 * The simulator must be able to fail: with a deliberately broken core (the test-only `injectBug`
 * flag) its targeted scenarios must report a safety violation, while the same seeds pass against
 * the correct core.
 */
import { describe, expect, test } from "bun:test"
import type { RaftConfig } from "../../src/raft/api.ts"
import { profiles } from "./profiles.ts"
import type { LeaseBug } from "./register-machine.ts"
import { formatFailure } from "./runner.ts"
import { runSimulation } from "./simulation.ts"

const maxSeeds = 8

const cases: { bug: NonNullable<RaftConfig["injectBug"]>; profile: string }[] = [
  { bug: "commitPreviousTerm", profile: "figure8" },
  { bug: "sendBeforePersist", profile: "persistWindow" },
]

describe("injected core bugs are detected", () => {
  for (const { bug, profile } of cases) {
    test(`${bug} is caught by the ${profile} scenario`, () => {
      let caught: ReturnType<typeof runSimulation> | null = null
      for (let seed = 1; seed <= maxSeeds && caught === null; seed++) {
        const result = runSimulation({ seed, profile: profiles[profile]!, injectBug: bug })
        if (result.violation) caught = result
      }
      expect(caught).not.toBeNull()
      console.log(`${bug}: ${formatFailure(caught!, { profile, injectBug: bug }, 4)}`)
      expect(["leaderCompleteness", "stateMachineSafety", "linearizability"]).toContain(
        caught!.violation!.invariant,
      )
      // The same seed passes once the bug is gone: the scenario itself is sound.
      const clean = runSimulation({ seed: caught!.seed, profile: profiles[profile]! })
      expect(clean.violation).toBeNull()
    })
  }
})

describe("a broken caller is detected end to end", () => {
  test("reads answered before their ReadIndex applies make the history non-linearizable", () => {
    let caught: ReturnType<typeof runSimulation> | null = null
    for (let seed = 1; seed <= 2 * maxSeeds && caught === null; seed++) {
      const result = runSimulation({ seed, profile: profiles.lossy!, callerBug: "staleReads" })
      if (result.violation) caught = result
    }
    expect(caught).not.toBeNull()
    expect(caught!.violation!.invariant).toBe("linearizability")
    console.log(`staleReads: seed ${caught!.seed}: ${caught!.violation!.detail.split("\n")[0]}`)
  })
})

describe("a storage that forgets votes is detected", () => {
  test("the doubleVote scenario elects two leaders in one term", () => {
    const result = runSimulation({ seed: 1, profile: profiles.doubleVote!, callerBug: "forgetVote" })
    expect(result.violation?.invariant).toBe("electionSafety")
    expect(runSimulation({ seed: 1, profile: profiles.doubleVote! }).violation).toBeNull()
  })
})

describe("broken lease handling is detected", () => {
  const leaseCases: { bug: LeaseBug; expect: string }[] = [
    { bug: "expireEarly", expect: "before its TTL" },
    { bug: "splitExpiry", expect: "in one revision" },
    { bug: "clockFromUptime", expect: "ahead of real time" },
  ]
  for (const { bug, expect: message } of leaseCases) {
    test(`${bug} fails the lease checks, with a replay command`, () => {
      let caught: ReturnType<typeof runSimulation> | null = null
      for (let seed = 1; seed <= 2 * maxSeeds && caught === null; seed += 2) {
        const result = runSimulation({ seed, profile: profiles.crashes!, leaseBug: bug })
        if (result.violation) caught = result
      }
      expect(caught).not.toBeNull()
      expect(caught!.violation!.invariant).toBe("lease")
      expect(caught!.violation!.detail).toContain(message)
      const report = formatFailure(caught!, { profile: "crashes", leaseBug: bug }, 4)
      expect(report).toContain(
        `replay: bun test/sim/main.ts --seeds 1 --seed-start ${caught!.seed} --profile crashes --lease-bug ${bug}`,
      )
      console.log(`${bug}: ${report}`)
      const clean = runSimulation({ seed: caught!.seed, profile: profiles.crashes! })
      expect(clean.violation).toBeNull()
      expect(clean.stats.leasesExpired).toBeGreaterThan(0)
      expect(clean.stats.lockEpochs).toBeGreaterThan(0)
    })
  }
})
