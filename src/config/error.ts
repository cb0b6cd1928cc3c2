/**
 * ConfigError: what is wrong, where (file, line, key path, which env var or flag set it), and
 * what to do next. One error carries every issue found, so an operator fixes a file in one pass.
 */
import { Schema } from "effect"

export const ConfigIssue = Schema.Struct({
  /** Dotted key path (`storage.sync_on_write`); empty for whole-file problems. */
  path: Schema.String,
  message: Schema.String,
  /** Where the value came from: `/etc/lattice/node1.toml:12`, `env LATTICE_NODE_ID`, `flag --node-id`. */
  source: Schema.optional(Schema.String),
})
export type ConfigIssue = typeof ConfigIssue.Type

export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  /** The config file involved, if any. */
  file: Schema.optional(Schema.String),
  /** One line: what kind of failure this is. */
  summary: Schema.String,
  issues: Schema.Array(ConfigIssue),
  /** What to do next. */
  hint: Schema.String,
}) {
  override get message(): string {
    return formatConfigError(this)
  }
}

export const formatIssue = (issue: ConfigIssue): string => {
  const where = issue.path === "" ? "" : `${issue.path}: `
  const source = issue.source === undefined ? "" : ` (from ${issue.source})`
  return `${where}${issue.message}${source}`
}

export const formatConfigError = (error: {
  readonly summary: string
  readonly issues: ReadonlyArray<ConfigIssue>
  readonly hint: string
}): string => {
  const lines = [error.summary, ...error.issues.map((i) => `  - ${formatIssue(i)}`)]
  if (error.hint !== "") lines.push(`hint: ${error.hint}`)
  return lines.join("\n")
}
