/** Printing failures the same way in every command. */
import { Effect } from "effect"
import type { ConfigError } from "../../config/error.ts"
import { type CliIO, ExitCode } from "../framework/types.ts"

export const reportConfigError =
  (io: CliIO) =>
  (error: ConfigError): Effect.Effect<number> =>
    Effect.sync(() => {
      io.stderr(`error: ${error.message}\n`)
      return ExitCode.config
    })

export const usageError = (io: CliIO, command: string, message: string): Effect.Effect<number> =>
  Effect.sync(() => {
    io.stderr(`error: ${message}\nRun "${command} --help" for usage.\n`)
    return ExitCode.usage
  })
