/** Every registered command and subcommand answers --help with usage, flags and examples. */
import { describe, expect, test } from "bun:test"
import { rootCommand } from "../../../src/cli/commands/root.ts"
import type { Command } from "../../../src/cli/framework/types.ts"
import { runLattice } from "./capture.ts"

const allPaths = (command: Command, prefix: string[] = []): string[][] => {
  const here = [...prefix, command.name]
  return [here, ...(command.subcommands ?? []).flatMap((c) => allPaths(c, here))]
}

describe("help", () => {
  const paths = allPaths(rootCommand())

  test("the registered commands are exactly the ones built so far", () => {
    expect(paths.map((p) => p.join(" "))).toEqual([
      "lattice",
      "lattice start",
      "lattice dev",
      "lattice status",
      "lattice admin",
      "lattice admin drain",
      "lattice admin drain-status",
      "lattice admin wait-ready",
      "lattice admin cluster-status",
      "lattice admin shutdown",
      "lattice admin transfer-leadership",
      "lattice admin force-election",
      "lattice admin add-node",
      "lattice admin remove-node",
      "lattice admin snapshot",
      "lattice admin compact-log",
      "lattice benchmark",
      "lattice config",
      "lattice config generate",
      "lattice config validate",
      "lattice config show",
      "lattice version",
    ])
  })

  for (const path of paths) {
    const argv = [...path.slice(1), "--help"]
    test(`${path.join(" ")} --help`, async () => {
      const result = await runLattice(argv)
      expect(result.code).toBe(0)
      expect(result.stderr).toBe("")
      expect(result.stdout).toStartWith(`${path.join(" ")}: `)
      expect(result.stdout).toContain(`Usage:\n  ${path.join(" ")}`)
      expect(result.stdout).toContain("-h, --help")
      expect(result.stdout).toContain("Examples:")
      let command = rootCommand()
      for (const name of path.slice(1)) command = command.subcommands!.find((c) => c.name === name)!
      for (const flag of command.flags ?? []) expect(result.stdout).toContain(`--${flag.name}`)
      for (const sub of command.subcommands ?? []) expect(result.stdout).toContain(`  ${sub.name} `)
      for (const arg of command.args ?? []) expect(result.stdout).toContain(arg.name)
    })
  }

  test("-h works like --help", async () => {
    const result = await runLattice(["config", "generate", "-h"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("lattice config generate [NODE_ID] [OUT_FILE] [flags]")
  })

  test("the root help lists --version", async () => {
    expect((await runLattice(["--help"])).stdout).toContain("--version")
  })
})
