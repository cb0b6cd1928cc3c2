/** Runs the CLI in-process with captured stdout/stderr, a given environment and working directory. */
import { type Runtimes, rootCommand } from "../../../src/cli/commands/root.ts"
import { runCli } from "../../../src/cli/framework/run.ts"
import type { CliIO } from "../../../src/cli/framework/types.ts"
import { versionText } from "../../../src/cli/version.ts"

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const runLattice = async (
  argv: ReadonlyArray<string>,
  options: { env?: Record<string, string>; cwd?: string; runtimes?: Runtimes } = {},
): Promise<CliResult> => {
  let stdout = ""
  let stderr = ""
  const io: CliIO = {
    stdout: (t) => {
      stdout += t
    },
    stderr: (t) => {
      stderr += t
    },
    env: options.env ?? {},
    cwd: options.cwd ?? "/tmp",
  }
  const code = await runCli(rootCommand(options.runtimes), argv, io, versionText)
  return { code, stdout, stderr }
}
