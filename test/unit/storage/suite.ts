/**
 * The storage test suite, written once and run by every driver on every runtime:
 * `storage-bun.test.ts` (bun:sqlite and node:sqlite under Bun) and
 * `test/deno/storage/test.ts` (node:sqlite under Deno).
 */
import type { Harness } from "./harness.ts"
import { driverSuite } from "./suite-driver.ts"
import { integritySuite } from "./suite-integrity.ts"
import { logSuite } from "./suite-log.ts"
import { modelSuite } from "./suite-model.ts"
import { spaceAndCommitSuite } from "./suite-space-commit.ts"

export type { Harness } from "./harness.ts"

export const storageSuite = (h: Harness): void => {
  driverSuite(h)
  logSuite(h)
  integritySuite(h)
  spaceAndCommitSuite(h)
  modelSuite(h)
}

/** Reads the randomized tests' sizes from the environment (small by default). */
export const modelSize = (
  env: (name: string) => string | undefined,
): { modelSteps: number; modelSeeds: number; flipTrials: number } => ({
  modelSteps: Number(env("LATTICE_STORAGE_MODEL_STEPS") ?? 150),
  modelSeeds: Number(env("LATTICE_STORAGE_MODEL_SEEDS") ?? 3),
  flipTrials: Number(env("LATTICE_STORAGE_FLIPS") ?? 40),
})
