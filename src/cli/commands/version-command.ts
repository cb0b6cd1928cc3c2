/** `lattice version`: the same text as `lattice --version`. */
import { Effect } from "effect"
import { type Command, ExitCode } from "../framework/types.ts"
import { versionText } from "../version.ts"

export const versionCommand: Command = {
  name: "version",
  summary: "print the version and the runtime",
  examples: ["lattice version", "lattice --version"],
  run: (_input, io) =>
    Effect.sync(() => {
      io.stdout(`${versionText()}\n`)
      return ExitCode.ok
    }),
}
