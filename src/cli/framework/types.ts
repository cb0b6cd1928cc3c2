/**
 * A small command framework: a tree of commands, each with arguments, flags, examples and a
 * handler. Every command answers --help; the root also answers --version.
 */
import type { Effect } from "effect"

export interface FlagSpec {
  /** Long name without dashes: "node-id". */
  readonly name: string
  readonly short?: string
  /** "list" flags may repeat and collect every value. */
  readonly type: "string" | "boolean" | "list"
  /** Shown in help after the flag: "--node-id ID". */
  readonly placeholder?: string
  readonly description: string
}

export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly optional?: boolean
}

/** Where a command writes, and the process context it may read. */
export interface CliIO {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
}

export interface ParsedInput {
  readonly args: ReadonlyArray<string>
  readonly string: (name: string) => string | undefined
  readonly bool: (name: string) => boolean
  readonly list: (name: string) => ReadonlyArray<string>
}

/** A handler returns the process exit code; failures it expects are already printed. */
export type Handler = (input: ParsedInput, io: CliIO) => Effect.Effect<number>

export interface Command {
  readonly name: string
  /** One line, shown in the parent's command list. */
  readonly summary: string
  /** Longer text for this command's own help. */
  readonly description?: string
  readonly args?: ReadonlyArray<ArgSpec>
  readonly flags?: ReadonlyArray<FlagSpec>
  readonly examples?: ReadonlyArray<string>
  readonly subcommands?: ReadonlyArray<Command>
  readonly run?: Handler
}

/** Exit codes: 78 is sysexits' EX_CONFIG, so a unit can stop restarting on a bad config. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  unavailable: 69,
  internal: 70,
  config: 78,
} as const
