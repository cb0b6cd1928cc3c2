/** Parse argv, then print help / the version / a usage error, or run the command's handler. */
import { Cause, Effect, Exit } from "effect"
import { helpText } from "./help.ts"
import { parseArgs } from "./parse.ts"
import { type CliIO, type Command, ExitCode } from "./types.ts"

export const runCli = async (
  root: Command,
  argv: ReadonlyArray<string>,
  io: CliIO,
  versionText: () => string,
): Promise<number> => {
  const outcome = parseArgs(root, argv)
  switch (outcome.kind) {
    case "help":
      io.stdout(helpText(outcome.path))
      return ExitCode.ok
    case "version":
      io.stdout(`${versionText()}\n`)
      return ExitCode.ok
    case "usage-error": {
      const name = outcome.path.map((c) => c.name).join(" ")
      io.stderr(`error: ${outcome.message}\nRun "${name} --help" for usage.\n`)
      return ExitCode.usage
    }
    case "run": {
      const command = outcome.path[outcome.path.length - 1]!
      const exit = await Effect.runPromiseExit(command.run!(outcome.input, io))
      if (Exit.isSuccess(exit)) return exit.value
      io.stderr(`internal error (please report it):\n${Cause.pretty(exit.cause)}\n`)
      return ExitCode.internal
    }
  }
}
