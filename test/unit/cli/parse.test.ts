import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { parseArgs } from "../../../src/cli/framework/parse.ts"
import type { Command } from "../../../src/cli/framework/types.ts"

const noop = () => Effect.succeed(0)

const tree: Command = {
  name: "tool",
  summary: "test tree",
  subcommands: [
    {
      name: "start",
      summary: "start",
      args: [
        { name: "ID", description: "id", optional: true },
        { name: "FILE", description: "file", optional: true },
      ],
      flags: [
        { name: "node-id", type: "string", description: "id" },
        { name: "force", short: "f", type: "boolean", description: "force" },
        { name: "set", type: "list", description: "set" },
      ],
      run: noop,
    },
    {
      name: "config",
      summary: "config",
      subcommands: [
        { name: "show", summary: "show", run: noop },
        { name: "validate", summary: "validate", args: [{ name: "FILE", description: "f" }], run: noop },
      ],
    },
  ],
}

const run = (argv: string[]) => {
  const outcome = parseArgs(tree, argv)
  if (outcome.kind !== "run") throw new Error(`expected run, got ${JSON.stringify(outcome)}`)
  return { command: outcome.path.map((c) => c.name).join(" "), input: outcome.input }
}

const usageError = (argv: string[]): string => {
  const outcome = parseArgs(tree, argv)
  if (outcome.kind !== "usage-error") throw new Error(`expected a usage error, got ${outcome.kind}`)
  return outcome.message
}

describe("argument parsing", () => {
  test("walks subcommands and collects flags and arguments in any order", () => {
    const { command, input } = run([
      "start",
      "4",
      "--node-id=n4",
      "-f",
      "file.toml",
      "--set",
      "a=1",
      "--set",
      "b=2",
    ])
    expect(command).toBe("tool start")
    expect(input.args).toEqual(["4", "file.toml"])
    expect(input.string("node-id")).toBe("n4")
    expect(input.bool("force")).toBe(true)
    expect(input.bool("missing")).toBe(false)
    expect(input.list("set")).toEqual(["a=1", "b=2"])
    expect(run(["config", "show"]).command).toBe("tool config show")
  })

  test("-- ends flags", () => {
    expect(run(["start", "--", "--node-id"]).input.args).toEqual(["--node-id"])
  })

  test("--help anywhere asks for help on the deepest command reached", () => {
    for (const argv of [
      ["--help"],
      ["config", "-h"],
      ["config", "validate", "--help"],
      ["start", "x", "--help"],
    ]) {
      const outcome = parseArgs(tree, argv)
      expect(outcome.kind).toBe("help")
    }
    const outcome = parseArgs(tree, ["config", "validate", "--help"])
    if (outcome.kind === "help")
      expect(outcome.path.map((c) => c.name)).toEqual(["tool", "config", "validate"])
  })

  test("--version is a root flag only", () => {
    expect(parseArgs(tree, ["--version"]).kind).toBe("version")
    expect(usageError(["start", "--version"])).toContain('unknown flag "--version"')
  })

  test("unknown commands and flags suggest the closest match", () => {
    expect(usageError(["strat"])).toBe('unknown command: "strat"; did you mean "start"?')
    expect(usageError(["config", "valdate"])).toBe(
      'unknown subcommand for "tool config": "valdate"; did you mean "validate"?',
    )
    expect(usageError(["start", "--nodeid", "x"])).toBe(
      'unknown flag "--nodeid" for "tool start"; did you mean "--node-id"?',
    )
    expect(usageError(["start", "--zzzzzzzz"])).toBe('unknown flag "--zzzzzzzz" for "tool start"')
  })

  test("missing values, extra and missing arguments, and bare groups are usage errors", () => {
    expect(usageError(["start", "--node-id"])).toContain("flag --node-id needs a value")
    expect(usageError(["start", "--node-id", "--force"])).toContain("needs a value")
    expect(usageError(["start", "--force=yes"])).toBe("flag --force takes no value")
    expect(usageError(["start", "a", "b", "c"])).toBe('unexpected argument "c" for "tool start"')
    expect(usageError(["config", "validate"])).toBe('missing argument FILE for "tool config validate"')
    expect(usageError(["config"])).toBe('missing command for "tool config" (one of: show, validate)')
    expect(usageError([])).toBe('missing command for "tool" (one of: start, config)')
  })
})
