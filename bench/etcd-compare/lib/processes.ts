/**
 * Every child process the benchmark starts is registered here, so one `killAll` (called from
 * `finally` and from the SIGINT/SIGTERM handlers) leaves nothing behind.
 */
import { closeSync, openSync } from "node:fs"

export interface Child {
  readonly name: string
  readonly pid: number
  readonly exited: Promise<number>
  readonly isRunning: () => boolean
  /** SIGKILL (a crash) and wait until the process is gone. */
  readonly kill9: () => Promise<void>
  /** SIGTERM (a clean stop, which lets a profiler write its file); SIGKILL after `graceMs`. */
  readonly terminate: (graceMs?: number) => Promise<void>
}

const live = new Map<number, ReturnType<typeof Bun.spawn>>()

/** Starts `cmd` with stdout and stderr appended to `logFile`. */
export const spawnChild = (
  name: string,
  cmd: readonly string[],
  logFile: string,
  cwd?: string,
  env?: Readonly<Record<string, string | undefined>>,
): Child => {
  const fd = openSync(logFile, "a")
  const proc = Bun.spawn([...cmd], { cwd, env, stdout: fd, stderr: fd, stdin: "ignore" })
  // The child has its own copy of the descriptor now.
  closeSync(fd)
  live.set(proc.pid, proc)
  let running = true
  const exited = proc.exited.then((code) => {
    running = false
    live.delete(proc.pid)
    return code
  })
  return {
    name,
    pid: proc.pid,
    exited,
    isRunning: () => running,
    kill9: async () => {
      if (!running) return
      proc.kill("SIGKILL")
      await exited
    },
    terminate: async (graceMs = 10_000) => {
      if (!running) return
      proc.kill("SIGTERM")
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

export const killAll = async (): Promise<void> => {
  const procs = [...live.values()]
  for (const proc of procs) proc.kill("SIGKILL")
  await Promise.all(procs.map((p) => p.exited))
}

/** SIGKILL the children synchronously; for the signal handlers, where nothing may be awaited. */
export const killAllNow = (): void => {
  for (const proc of live.values()) proc.kill("SIGKILL")
}
