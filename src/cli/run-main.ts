/** The full CLI: the command tree run against the real process streams and environment. */
import { rootCommand } from "./commands/root.ts"
import { runCli } from "./framework/run.ts"
import { versionText } from "./version.ts"

export const runMain = (argv: ReadonlyArray<string>): Promise<number> =>
  runCli(
    rootCommand(),
    argv,
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
      cwd: process.cwd(),
    },
    versionText,
  )
