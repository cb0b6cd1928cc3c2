/**
 * Facts about the machine that move the benchmark's latency figures, recorded with each run.
 *
 * DAMON (the kernel's data-access monitor, `kdamond` threads) is switched on by some VM hosts to
 * page out cold guest memory. In its physical-address mode it samples pages of the whole RAM
 * every `sample_us`; on the 2-vCPU VMs these figures come from, each sampling pass stalled every
 * process on the machine (the nodes, nats-server, the client, even an idle Python loop) for
 * 10-50 ms, about twice a second, and longer the more memory the processes held. That shows up
 * as the p99 of both systems, far above what the disk or the software explains
 * (docs/benchmarks.md, "Eleventh pass").
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const DAMON_ADMIN = "/sys/kernel/mm/damon/admin/kdamonds"

export interface DamonMonitor {
  readonly state: string
  /** "paddr" (physical memory) or "vaddr"/"fvaddr" (one process). */
  readonly operations: string
  readonly sampleMs: number
}

const readOr = (path: string, fallback: string): string => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch {
    return fallback
  }
}

/** The DAMON monitors configured through sysfs, running or not (empty where there is none). */
export const damonMonitors = (admin: string = DAMON_ADMIN): DamonMonitor[] => {
  if (!existsSync(admin)) return []
  const monitors: DamonMonitor[] = []
  for (const entry of readdirSync(admin).sort()) {
    if (!/^\d+$/.test(entry)) continue
    const dir = join(admin, entry)
    const context = join(dir, "contexts/0")
    monitors.push({
      state: readOr(join(dir, "state"), "unknown"),
      operations: readOr(join(context, "operations"), "unknown"),
      sampleMs: Number(readOr(join(context, "monitoring_attrs/intervals/sample_us"), "0")) / 1000,
    })
  }
  return monitors
}

/** One line to print under the results when a DAMON monitor runs, or null. */
export const damonWarning = (monitors: readonly DamonMonitor[]): string | null => {
  const on = monitors.filter((m) => m.state === "on")
  if (on.length === 0) return null
  const what = [...new Set(on.map((m) => `${m.operations}, sampling every ${m.sampleMs} ms`))].join("; ")
  return (
    `note: the kernel's DAMON monitor is on (${what}). On small VMs its sampling stalls every ` +
    "process here for 10-50 ms about twice a second, which dominates both systems' p99 " +
    '(docs/benchmarks.md, "Eleventh pass").'
  )
}
