/**
 * Scrape-time gauges of the drain workflow and readiness (docs/metrics.md):
 * `lattice_drain_in_progress`, `lattice_drain_step`, `lattice_drain_duration_seconds`,
 * `lattice_drain_inflight_requests`, `lattice_drain_watches`, `lattice_ready` and
 * `lattice_readiness_condition{condition}`.
 */
import { Effect } from "effect"
import type { DrainController } from "../../actors/drain.ts"
import type { Readiness } from "../../actors/readiness.ts"
import type { NodeMetrics } from "./node-metrics.ts"

export const observeDrain = (metrics: NodeMetrics, drain: DrainController, readiness: Readiness): void => {
  const now = () => Effect.runSync(drain.metrics)
  metrics.gauge("lattice_drain_in_progress", "1 while a drain workflow runs on this node.", [], () =>
    now().inProgress ? 1 : 0,
  )
  metrics.gauge(
    "lattice_drain_step",
    "The drain step reached: 0 idle, 1 mark_draining … 6 become_observer, 7 drained.",
    [],
    () => now().step,
  )
  metrics.gauge(
    "lattice_drain_duration_seconds",
    "How long the current (or last) drain has run.",
    [],
    () => now().durationSeconds,
  )
  metrics.gauge(
    "lattice_drain_inflight_requests",
    "Client requests in flight through the drain gate (what the drain waits for).",
    [],
    () => now().inflightRequests,
  )
  metrics.gauge(
    "lattice_drain_watches",
    "Open watches the drain would cancel.",
    [],
    () => Effect.runSync(drain.status).watches,
  )
  const evaluation = () => Effect.runSync(readiness.evaluate)
  metrics.gauge("lattice_ready", "1 when /readyz answers 200.", [], () => (evaluation().report.ready ? 1 : 0))
  metrics.gauge(
    "lattice_readiness_condition",
    "Each /readyz condition: 1 holds, 0 fails.",
    ["condition"],
    () =>
      Object.entries(evaluation().report.conditions).map(
        ([condition, ok]) => [{ condition }, ok ? 1 : 0] as const,
      ),
  )
}
