/** Runs ranges of seeds and formats failures with the exact command that replays them. */
import type { RaftConfig } from "../../src/raft/api.ts"
import { type Profile, profileForSeed, profiles } from "./profiles.ts"
import type { LeaseBug } from "./register-machine.ts"
import { runSimulation, type SimResult } from "./simulation.ts"

export interface SeedRange {
  readonly seeds: number
  readonly seedStart: number
  readonly profile?: string | undefined
  readonly injectBug?: RaftConfig["injectBug"] | undefined
  /** TEST ONLY: broken lease handling (register-machine.ts). */
  readonly leaseBug?: LeaseBug | undefined
  readonly verbose?: boolean
}

export interface Summary {
  passed: number
  failed: number
  ops: number
  indeterminate: number
  unknown: number
  crashes: number
  confChanges: number
  failures: SimResult[]
}

export const resolveProfile = (name: string | undefined, seed: number): Profile => {
  if (name === undefined) return profileForSeed(seed)
  const p = profiles[name]
  if (p === undefined) throw new Error(`unknown profile ${name}; known: ${Object.keys(profiles).join(", ")}`)
  return p
}

export const runSeeds = (range: SeedRange, onResult?: (r: SimResult) => void): Summary => {
  const summary: Summary = {
    passed: 0,
    failed: 0,
    ops: 0,
    indeterminate: 0,
    unknown: 0,
    crashes: 0,
    confChanges: 0,
    failures: [],
  }
  for (let seed = range.seedStart; seed < range.seedStart + range.seeds; seed++) {
    const result = runSimulation({
      seed,
      profile: resolveProfile(range.profile, seed),
      verbose: range.verbose ?? false,
      ...(range.injectBug ? { injectBug: range.injectBug } : {}),
      ...(range.leaseBug ? { leaseBug: range.leaseBug } : {}),
    })
    summary.ops += result.stats.ops
    summary.indeterminate += result.stats.indeterminate
    summary.crashes += result.stats.crashes
    summary.confChanges += result.stats.confChanges
    if (result.stats.linearizability === "unknown") summary.unknown++
    if (result.violation) {
      summary.failed++
      summary.failures.push(result)
    } else summary.passed++
    onResult?.(result)
  }
  return summary
}

export const replayCommand = (
  seed: number,
  opts: { profile?: string | undefined; injectBug?: string | undefined; leaseBug?: string | undefined },
) =>
  [
    "bun test/sim/main.ts --seeds 1 --seed-start",
    String(seed),
    ...(opts.profile ? ["--profile", opts.profile] : []),
    ...(opts.injectBug ? ["--inject-bug", opts.injectBug] : []),
    ...(opts.leaseBug ? ["--lease-bug", opts.leaseBug] : []),
    "--verbose",
  ].join(" ")

export const formatFailure = (
  r: SimResult,
  opts: { profile?: string | undefined; injectBug?: string | undefined; leaseBug?: string | undefined },
  tail = 15,
): string => {
  const [headline, ...details] = r.violation!.detail.split("\n")
  return [
    `FAIL seed ${r.seed} (${r.profile}) ${r.violation!.invariant}: ${headline} | replay: ${replayCommand(r.seed, opts)}`,
    ...details.map((l) => `  ${l}`),
    "  trace tail:",
    ...r.trace.slice(-tail).map((l) => `    ${l}`),
  ].join("\n")
}

/** "unknown" from the checker is tolerated unless it is frequent (more than 5% of seeds). */
export const unknownTooOften = (summary: Summary): boolean =>
  summary.unknown > Math.max(1, 0.05 * (summary.passed + summary.failed))
