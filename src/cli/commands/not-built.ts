/** What `start` and `dev` do until the node runtime exists: say so, and fail. Never pretend. */
import { Effect } from "effect"
import { type CliIO, ExitCode } from "../framework/types.ts"

export const notBuilt = (io: CliIO, command: string): Effect.Effect<number> =>
  Effect.sync(() => {
    io.stderr(
      `error: ${command}: the node runtime is not built yet (issue 5); the configuration above is valid, but no node was started\n`,
    )
    return ExitCode.unavailable
  })
