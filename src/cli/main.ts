/**
 * The `lattice` binary. `--version` is answered before the command tree (and Effect) is loaded,
 * because it is the cold-start path scripts and health checks use; everything else goes through
 * the command framework. No top-level await, so the bundle can also be compiled with --bytecode.
 */
import { versionText } from "./version.ts"

const argv = process.argv.slice(2)

const main = async (): Promise<number> => {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "version")) {
    process.stdout.write(`${versionText()}\n`)
    return 0
  }
  // The long-running commands tune the runtime first (re-executing in place; see the file); the
  // load generator only its allocator.
  const longRunning = argv[0] === "start" || argv[0] === "dev" || argv[0] === "benchmark"
  if (longRunning && !argv.includes("--help") && !argv.includes("-h")) {
    const { CLIENT_TUNING, tuneRuntimeOrContinue } = await import("./runtime-tuning.ts")
    await tuneRuntimeOrContinue(argv[0] === "benchmark" ? CLIENT_TUNING : undefined)
  }
  const { runMain } = await import("./run-main.ts")
  return runMain(argv)
}

// exitCode rather than exit(): lets piped output drain before the process ends.
main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`internal error (please report it): ${String(error)}\n`)
    process.exitCode = 70
  },
)
