/**
 * Overrides from environment variables and CLI flags: a config path, the text given, and where
 * it came from. Text is coerced by the kind the schema expects at that path.
 */
import { type KeySpec, leafKeys, specAt } from "./catalog.ts"
import { coerceList, coerceScalar } from "./coerce.ts"
import { ENV_PREFIX, ENV_SHORTCUTS, genericEnvName } from "./env-names.ts"
import type { ConfigIssue } from "./error.ts"
import { closest } from "./suggest.ts"

export interface Override {
  readonly path: ReadonlyArray<string>
  readonly value: unknown
  /** `env LATTICE_NODE_ID`, `flag --node-id`, `flag --set storage.sync_on_write`. */
  readonly source: string
}

export interface Overrides {
  readonly overrides: ReadonlyArray<Override>
  readonly issues: ReadonlyArray<ConfigIssue>
}

const settableKeys = (): ReadonlyArray<KeySpec> =>
  leafKeys().filter((k) => k.kind !== "table-list" && k.kind !== "table")

/** One textual override, coerced; or an issue when the path cannot be set from text. */
export const textOverride = (
  path: ReadonlyArray<string>,
  text: string,
  source: string,
): { override: Override } | { issue: ConfigIssue } => {
  const spec = specAt(path)
  const dottedPath = path.join(".")
  if (spec?.kind === "table") {
    const keys = spec.children.map((k) => k.path.join(".")).join(", ")
    return { issue: { path: dottedPath, message: `is a table; set its keys instead (${keys})`, source } }
  }
  if (spec === undefined) {
    const known = settableKeys().map((k) => k.path.join("."))
    const guess = closest(dottedPath, known)
    const hint = guess === undefined ? "" : `; did you mean "${guess}"?`
    return { issue: { path: dottedPath, message: `unknown key${hint}`, source } }
  }
  if (spec.kind === "table-list")
    return {
      issue: {
        path: dottedPath,
        message: `${spec.typeLabel} cannot be set from ${source.split(" ")[0]}; write it in the config file`,
        source,
      },
    }
  const value =
    spec.kind === "list" ? coerceList(text, spec.itemKind ?? "string") : coerceScalar(text, spec.kind)
  return { override: { path, value, source } }
}

const collect = (results: ReadonlyArray<{ override: Override } | { issue: ConfigIssue }>): Overrides => ({
  overrides: results.flatMap((r) => ("override" in r ? [r.override] : [])),
  issues: results.flatMap((r) => ("issue" in r ? [r.issue] : [])),
})

/**
 * LATTICE_* variables: the short names, then LATTICE_<SECTION>__<KEY> (which wins on a clash).
 * Other LATTICE_* names without `__` are left alone: tools and tests may use them.
 */
export const envOverrides = (env: Readonly<Record<string, string | undefined>>): Overrides => {
  const results: Array<{ override: Override } | { issue: ConfigIssue }> = []
  for (const [name, path] of ENV_SHORTCUTS) {
    const text = env[name]
    if (text !== undefined && text !== "") results.push(textOverride(path, text, `env ${name}`))
  }
  const generic = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name.includes("__"))
    .sort()
  const knownNames = settableKeys().map((k) => genericEnvName(k.path))
  for (const name of generic) {
    const text = env[name]
    if (text === undefined) continue
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__")
    const spec = specAt(path)
    if (spec === undefined) {
      const guess = closest(name, knownNames)
      const hint = guess === undefined ? "" : `; did you mean ${guess}?`
      results.push({
        issue: { path: path.join("."), message: `unknown environment variable ${name}${hint}` },
      })
      continue
    }
    results.push(textOverride(path, text, `env ${name}`))
  }
  return collect(results)
}

/** `--set section.key=value` flags. */
export const setFlagOverrides = (assignments: ReadonlyArray<string>): Overrides =>
  collect(
    assignments.map((assignment) => {
      const eq = assignment.indexOf("=")
      if (eq <= 0)
        return {
          issue: {
            path: "",
            message: `--set expects section.key=value, got ${JSON.stringify(assignment)}`,
            source: "flag --set",
          },
        }
      const path = assignment.slice(0, eq).trim().split(".")
      return textOverride(path, assignment.slice(eq + 1), `flag --set ${path.join(".")}`)
    }),
  )

/** Named flags (`--node-id n2`) with their config paths. */
export const namedFlagOverrides = (
  flags: ReadonlyArray<readonly [flag: string, path: ReadonlyArray<string>, text: string | undefined]>,
): Overrides =>
  collect(
    flags.flatMap(([flag, path, text]) =>
      text === undefined ? [] : [textOverride(path, text, `flag --${flag}`)],
    ),
  )

/** Write each override into a copy of `raw`, creating tables on the way. */
export const applyOverrides = (
  raw: Record<string, unknown>,
  overrides: ReadonlyArray<Override>,
): Record<string, unknown> => {
  const root: Record<string, unknown> = structuredClone(raw)
  for (const { path, value } of overrides) {
    let table = root
    for (const segment of path.slice(0, -1)) {
      const next = table[segment]
      if (typeof next !== "object" || next === null || Array.isArray(next)) table[segment] = {}
      table = table[segment] as Record<string, unknown>
    }
    table[path[path.length - 1]!] = value
  }
  return root
}
