/**
 * Loading the node configuration. Precedence, lowest first:
 *   schema defaults < TOML file < LATTICE_* environment variables < CLI flags.
 * All problems found are reported together in one ConfigError.
 */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, Either } from "effect"
import type { LatticeConfig } from "../../schemas/config.ts"
import { decodeConfig, type SourceOf } from "./decode.ts"
import { ENV_CONFIG_FILE } from "./env-names.ts"
import { ConfigError, type ConfigIssue } from "./error.ts"
import { applyOverrides, envOverrides, type Override, type Overrides } from "./overrides.ts"
import { type NodeConfig, resolveConfig } from "./resolve.ts"
import { semanticIssues } from "./semantics.ts"
import { lineOfKey, parseToml } from "./toml.ts"

export interface LoadOptions {
  /** The --config flag; when absent, LATTICE_CONFIG; when both are absent, no file. */
  readonly file?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Overrides from CLI flags, already parsed (see namedFlagOverrides / setFlagOverrides). */
  readonly flags?: Overrides
  /** Resolves a relative config file path and node.data_dir. */
  readonly cwd?: string
}

export interface LoadedConfig {
  readonly config: NodeConfig
  /** The decoded configuration before paths are resolved (what `config generate` writes). */
  readonly decoded: LatticeConfig
  /** The file read, if any. */
  readonly file: string | undefined
}

const readConfigFile = (file: string): Effect.Effect<string, ConfigError> =>
  Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: (e) => {
      const code = (e as NodeJS.ErrnoException).code
      return new ConfigError({
        file,
        summary:
          code === "ENOENT"
            ? `config file not found: ${file}`
            : `cannot read config file ${file}: ${(e as Error).message}`,
        issues: [],
        hint:
          code === "ENOENT"
            ? `create one with \`lattice config generate <NODE_ID> ${file}\`, or check the --config path`
            : "check the file's permissions",
      })
    },
  })

const sourceTracker = (
  file: string | undefined,
  text: string,
  overrides: ReadonlyArray<Override>,
): SourceOf => {
  const byPath = new Map<string, string>()
  for (const o of overrides) byPath.set(o.path.join("."), o.source)
  return (path) => {
    // An override of a list also owns its elements (cluster.members[2]).
    for (let n = path.length; n > 0; n--) {
      const from = byPath.get(path.slice(0, n).map(String).join("."))
      if (from !== undefined) return from
    }
    if (file === undefined) return undefined
    const line = lineOfKey(text, path)
    return line === undefined ? file : `${file}:${line}`
  }
}

/** "cluster.peers[1].id" → ["cluster", "peers", 1, "id"]. */
const pathOf = (dottedPath: string): Array<string | number> =>
  dottedPath
    .split(".")
    .flatMap((part) => part.split(/\[(\d+)\]/).filter((s) => s !== ""))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))

const withSource =
  (sourceOf: SourceOf) =>
  (issue: ConfigIssue): ConfigIssue => {
    const source = sourceOf(pathOf(issue.path))
    return source === undefined ? issue : { ...issue, source }
  }

const failure = (file: string | undefined, issues: ReadonlyArray<ConfigIssue>, origin: string): ConfigError =>
  new ConfigError({
    ...(file === undefined ? {} : { file }),
    summary: `invalid configuration${origin}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`,
    issues,
    hint: "fix the keys above; `lattice config generate` prints every key with its default, and docs/configuration.md describes them",
  })

export const loadConfig = (options: LoadOptions = {}): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.gen(function* () {
    const env = options.env ?? {}
    const named = options.file ?? (env[ENV_CONFIG_FILE] === "" ? undefined : env[ENV_CONFIG_FILE])
    const file = named === undefined ? undefined : resolve(options.cwd ?? process.cwd(), named)
    const text = file === undefined ? "" : yield* readConfigFile(file)
    const fromFile = file === undefined ? {} : yield* parseToml(text, file)
    const fromEnv = envOverrides(env)
    const fromFlags = options.flags ?? { overrides: [], issues: [] }
    const overrides = [...fromEnv.overrides, ...fromFlags.overrides]
    const origin = file === undefined ? "" : ` in ${file}`
    const early = [...fromEnv.issues, ...fromFlags.issues]
    const raw = applyOverrides(fromFile, overrides)
    const sourceOf = sourceTracker(file, text, overrides)
    const decoded = decodeConfig(raw, sourceOf)
    if (Either.isLeft(decoded)) return yield* failure(file, [...early, ...decoded.left], origin)
    const issues = [...early, ...semanticIssues(decoded.right).map(withSource(sourceOf))]
    if (issues.length > 0) return yield* failure(file, issues, origin)
    return {
      config: resolveConfig(decoded.right, options.cwd ?? process.cwd()),
      decoded: decoded.right,
      file,
    }
  })
