/**
 * argv → which command to run with which flags and arguments, or help, or the version, or a
 * usage error that names the closest valid command or flag.
 */
import { closest } from "../../config/suggest.ts"
import type { Command, FlagSpec, ParsedInput } from "./types.ts"

export const HELP_FLAG: FlagSpec = {
  name: "help",
  short: "h",
  type: "boolean",
  description: "show this help",
}
export const VERSION_FLAG: FlagSpec = {
  name: "version",
  type: "boolean",
  description: "print the version and exit",
}

export type ParseOutcome =
  | { readonly kind: "run"; readonly path: ReadonlyArray<Command>; readonly input: ParsedInput }
  | { readonly kind: "help"; readonly path: ReadonlyArray<Command> }
  | { readonly kind: "version" }
  | { readonly kind: "usage-error"; readonly path: ReadonlyArray<Command>; readonly message: string }

const isFlag = (token: string): boolean => token.startsWith("-") && token !== "-"

const suggestion = (input: string, known: ReadonlyArray<string>): string => {
  const match = closest(input, known)
  return match === undefined ? "" : `; did you mean "${match}"?`
}

const commandName = (path: ReadonlyArray<Command>): string => path.map((c) => c.name).join(" ")

/** Flags this command accepts: its own, --help, and --version on the root. */
export const flagsOf = (path: ReadonlyArray<Command>): ReadonlyArray<FlagSpec> => [
  ...(path[path.length - 1]!.flags ?? []),
  HELP_FLAG,
  ...(path.length === 1 ? [VERSION_FLAG] : []),
]

const makeInput = (
  args: ReadonlyArray<string>,
  values: ReadonlyMap<string, string | boolean | string[]>,
): ParsedInput => ({
  args,
  string: (name) => {
    const v = values.get(name)
    return typeof v === "string" ? v : undefined
  },
  bool: (name) => values.get(name) === true,
  list: (name) => {
    const v = values.get(name)
    return Array.isArray(v) ? v : []
  },
})

export const parseArgs = (root: Command, argv: ReadonlyArray<string>): ParseOutcome => {
  const path: Command[] = [root]
  let i = 0
  // Walk down the tree while the current command is a group.
  while (i < argv.length && path[path.length - 1]!.subcommands !== undefined) {
    const current = path[path.length - 1]!
    const token = argv[i]!
    if (isFlag(token)) break
    const next = current.subcommands!.find((c) => c.name === token)
    if (next === undefined) {
      const names = current.subcommands!.map((c) => c.name)
      const what = path.length === 1 ? "unknown command" : `unknown subcommand for "${commandName(path)}"`
      return { kind: "usage-error", path, message: `${what}: "${token}"${suggestion(token, names)}` }
    }
    path.push(next)
    i++
  }
  const command = path[path.length - 1]!
  const specs = flagsOf(path)
  const values = new Map<string, string | boolean | string[]>()
  const args: string[] = []
  let help = false
  let version = false
  for (; i < argv.length; i++) {
    const token = argv[i]!
    if (token === "--") {
      args.push(...argv.slice(i + 1))
      break
    }
    if (!isFlag(token)) {
      args.push(token)
      continue
    }
    const long = token.startsWith("--")
    const eq = token.indexOf("=")
    const name = long ? token.slice(2, eq === -1 ? undefined : eq) : token.slice(1)
    const spec = specs.find((f) => (long ? f.name === name : f.short === name))
    if (spec === undefined) {
      const known = specs.map((f) => `--${f.name}`)
      return {
        kind: "usage-error",
        path,
        message: `unknown flag "${long ? `--${name}` : token}" for "${commandName(path)}"${suggestion(`--${name}`, known)}`,
      }
    }
    if (spec === HELP_FLAG) help = true
    else if (spec === VERSION_FLAG) version = true
    else if (spec.type === "boolean") {
      if (long && eq !== -1)
        return { kind: "usage-error", path, message: `flag --${spec.name} takes no value` }
      values.set(spec.name, true)
    } else {
      let value: string | undefined
      if (long && eq !== -1) value = token.slice(eq + 1)
      else if (i + 1 < argv.length && !isFlag(argv[i + 1]!)) value = argv[++i]
      if (value === undefined)
        return {
          kind: "usage-error",
          path,
          message: `flag --${spec.name} needs a value (--${spec.name} ${spec.placeholder ?? "VALUE"})`,
        }
      if (spec.type === "list") {
        const prior = values.get(spec.name)
        values.set(spec.name, [...(Array.isArray(prior) ? prior : []), value])
      } else values.set(spec.name, value)
    }
  }
  if (help) return { kind: "help", path }
  if (version) return { kind: "version" }
  if (command.run === undefined) {
    const names = (command.subcommands ?? []).map((c) => c.name).join(", ")
    const extra = args.length > 0 ? `unknown command "${args[0]}"` : "missing command"
    return { kind: "usage-error", path, message: `${extra} for "${commandName(path)}" (one of: ${names})` }
  }
  const declared = command.args ?? []
  if (args.length > declared.length) {
    return {
      kind: "usage-error",
      path,
      message: `unexpected argument "${args[declared.length]}" for "${commandName(path)}"`,
    }
  }
  const missing = declared.slice(args.length).find((a) => a.optional !== true)
  if (missing !== undefined)
    return {
      kind: "usage-error",
      path,
      message: `missing argument ${missing.name} for "${commandName(path)}"`,
    }
  return { kind: "run", path, input: makeInput(args, values) }
}
