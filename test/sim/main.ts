/**
 * The simulator's command line:
 * `bun test/sim/main.ts --seeds N --seed-start S [--profile P] [--inject-bug B] [--lease-bug B] [--verbose]`.
 * Prints one line per failing seed (with the command that replays it), then `N passed, N failed`.
 */
import type { LeaseBug } from "./register-machine.ts"
import { formatFailure, runSeeds, unknownTooOften } from "./runner.ts"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

const seeds = Number(flag("seeds") ?? 100)
const seedStart = Number(flag("seed-start") ?? 1)
const profile = flag("profile")
const bug = flag("inject-bug") as "commitPreviousTerm" | "sendBeforePersist" | undefined
const leaseBug = flag("lease-bug") as LeaseBug | undefined
const verbose = args.includes("--verbose")

const summary = runSeeds({ seeds, seedStart, profile, injectBug: bug, leaseBug, verbose }, (result) => {
  if (result.violation) console.log(formatFailure(result, { profile, injectBug: bug, leaseBug }))
  else if (verbose) console.log(`seed ${result.seed} (${result.profile}) ok: ${JSON.stringify(result.stats)}`)
})
console.log(
  `stats: ops ${summary.ops}, indeterminate ${summary.indeterminate}, linearizability unknown ${summary.unknown}, ` +
    `crashes ${summary.crashes}, conf changes ${summary.confChanges}`,
)
const inconclusive = unknownTooOften(summary)
if (inconclusive)
  console.log(`the linearizability checker answered "unknown" for ${summary.unknown} seeds: too often`)
console.log(`${summary.passed} passed, ${summary.failed} failed`)
process.exit(summary.failed > 0 || inconclusive ? 1 : 0)
