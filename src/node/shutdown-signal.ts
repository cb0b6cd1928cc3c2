/**
 * Process signals for `lattice start`: the first SIGINT/SIGTERM asks for a graceful stop (drain
 * first, see run-node.ts); once that has begun, a second one stops the process at once.
 */
import { Effect } from "effect"

/** Completes when the process gets SIGINT or SIGTERM (Ctrl-C, systemd stop, kill). */
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

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 }

/**
 * From now on, SIGINT or SIGTERM exits the process at once with 128 + the signal's number (the
 * operator gave up waiting for the graceful stop). Registered for the life of the process.
 */
export const exitOnNextSignal = (say: (line: string) => void): Effect.Effect<void> =>
  Effect.sync(() => {
    for (const signal of ["SIGINT", "SIGTERM"] as const)
      process.once(signal, () => {
        say(`lattice: ${signal} again: stopping now without finishing the graceful shutdown\n`)
        process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0))
      })
  })
