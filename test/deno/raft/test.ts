/**
 * The runtime-neutral Raft core under Deno: the deterministic simulator (safety at every step,
 * liveness after healing, a linearizable history) over a range of seeds and every fault profile,
 * and the proof that it still catches an injected bug. Run by `npx deno task test`.
 */
import assert from "node:assert/strict"
import { profileNames } from "../../sim/profiles.ts"
import { formatFailure, runSeeds } from "../../sim/runner.ts"

declare const Deno: { test(name: string, fn: () => void): void }

for (const [i, profile] of profileNames.entries()) {
  Deno.test(`raft simulator under Deno: 5 seeds of the ${profile} profile`, () => {
    const summary = runSeeds({ seeds: 5, seedStart: 7000 + 100 * i, profile })
    assert.equal(summary.failed, 0, summary.failures.map((f) => formatFailure(f, { profile })).join("\n"))
    assert.equal(summary.passed, 5)
  })
}

Deno.test("raft simulator under Deno: an injected commit-previous-term bug is caught", () => {
  const summary = runSeeds({ seeds: 1, seedStart: 1, profile: "figure8", injectBug: "commitPreviousTerm" })
  assert.equal(summary.failed, 1)
})
