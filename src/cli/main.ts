/** The `lattice` binary. */
import { rootCommand } from "./commands/root.ts"
import { runCli } from "./framework/run.ts"
import { versionText } from "./version.ts"

const code = await runCli(
  rootCommand(),
  process.argv.slice(2),
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  },
  versionText,
)
// exitCode rather than exit(): lets piped output drain before the process ends.
process.exitCode = code
