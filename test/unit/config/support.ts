/** Helpers for config tests: write TOML to a fresh temp dir and load it. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either } from "effect"
import type { ConfigError } from "../../../src/config/error.ts"
import { type LoadedConfig, type LoadOptions, loadConfig } from "../../../src/config/load.ts"

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "lattice-config-test-"))

export const writeToml = (text: string, name = "lattice.toml"): string => {
  const file = join(tempDir(), name)
  writeFileSync(file, text)
  return file
}

export const load = (options: LoadOptions): Promise<Either.Either<LoadedConfig, ConfigError>> =>
  Effect.runPromise(Effect.either(loadConfig({ cwd: "/srv", ...options })))

export const loadOk = async (options: LoadOptions): Promise<LoadedConfig> => {
  const result = await load(options)
  if (Either.isLeft(result)) throw new Error(`expected a valid config, got:\n${result.left.message}`)
  return result.right
}

export const loadErr = async (options: LoadOptions): Promise<ConfigError> => {
  const result = await load(options)
  if (Either.isRight(result)) throw new Error("expected a ConfigError, but the config was accepted")
  return result.left
}
