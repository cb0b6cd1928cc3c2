/** Completes when the process gets SIGINT or SIGTERM (Ctrl-C, systemd stop, kill). */
import { Effect } from "effect"

export const shutdownSignal: Effect.Effect<NodeJS.Signals> = Effect.async<NodeJS.Signals>((resume) => {
  const on = (signal: NodeJS.Signals) => () => resume(Effect.succeed(signal))
  const int = on("SIGINT")
  const term = on("SIGTERM")
  process.once("SIGINT", int)
  process.once("SIGTERM", term)
  return Effect.sync(() => {
    process.off("SIGINT", int)
    process.off("SIGTERM", term)
  })
})
