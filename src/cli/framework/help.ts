/** Help text for any command: usage, description, arguments, flags, subcommands, examples. */
import { flagsOf } from "./parse.ts"
import type { Command } from "./types.ts"

const table = (rows: ReadonlyArray<readonly [string, string]>): string[] => {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`)
}

const usageLine = (path: ReadonlyArray<Command>): string => {
  const command = path[path.length - 1]!
  const name = path.map((c) => c.name).join(" ")
  if (command.subcommands !== undefined && command.run === undefined) return `${name} <command> [flags]`
  const args = (command.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name))
  return [name, ...args, "[flags]"].join(" ")
}

export const helpText = (path: ReadonlyArray<Command>): string => {
  const command = path[path.length - 1]!
  const out: string[] = [`${path.map((c) => c.name).join(" ")}: ${command.summary}`, ""]
  if (command.description) out.push(command.description, "")
  out.push("Usage:", `  ${usageLine(path)}`, "")
  if (command.subcommands?.length) {
    out.push("Commands:", ...table(command.subcommands.map((c) => [c.name, c.summary])), "")
  }
  if (command.args?.length) {
    out.push("Arguments:", ...table(command.args.map((a) => [a.name, a.description])), "")
  }
  const flags = flagsOf(path).map((f): readonly [string, string] => {
    const names = f.short ? `-${f.short}, --${f.name}` : `    --${f.name}`
    const value = f.type === "boolean" ? "" : ` ${f.placeholder ?? "VALUE"}`
    return [`${names}${value}`, f.type === "list" ? `${f.description} (repeatable)` : f.description]
  })
  out.push("Flags:", ...table(flags), "")
  if (command.examples?.length) out.push("Examples:", ...command.examples.map((e) => `  ${e}`), "")
  if (command.subcommands?.length)
    out.push(`Run "${path.map((c) => c.name).join(" ")} <command> --help" for more.`, "")
  return out.join("\n")
}
