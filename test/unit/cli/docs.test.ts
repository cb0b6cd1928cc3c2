/** docs/cli.md covers every registered command and each of its flags. */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { rootCommand } from "../../../src/cli/commands/root.ts"
import type { Command } from "../../../src/cli/framework/types.ts"

const walk = (command: Command, prefix: string[] = []): Array<{ path: string[]; command: Command }> => {
  const path = [...prefix, command.name]
  return [{ path, command }, ...(command.subcommands ?? []).flatMap((c) => walk(c, path))]
}

describe("docs/cli.md", () => {
  test("documents every command and flag", () => {
    const docs = readFileSync(join(import.meta.dir, "../../../docs/cli.md"), "utf8")
    const missing: string[] = []
    for (const { path, command } of walk(rootCommand())) {
      if (command.run !== undefined && !docs.includes(`## \`${path.join(" ")}`)) missing.push(path.join(" "))
      for (const flag of command.flags ?? [])
        if (!docs.includes(`--${flag.name}`)) missing.push(`--${flag.name}`)
    }
    expect(missing).toEqual([])
  })
})
