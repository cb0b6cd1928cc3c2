/**
 * `lattice_cp_cache_state{state}`: the node's control-plane cache (its copy of the cluster
 * manifest, see actors/readiness.ts) as the seeds' states, one-hot:
 *  - fresh: confirmed by a ReadIndex round of the current term within the bound (cp_cache_fresh);
 *  - stale: confirmed before, but in an older term or longer ago than the bound;
 *  - expired: never confirmed since the node started;
 *  - cached: always 0 — Lattice has no grace period between fresh and stale (LIN-BOUND fails as
 *    soon as the cache is not fresh).
 */
import { Effect } from "effect"
import type { Readiness } from "../../actors/readiness.ts"
import type { NodeMetrics } from "./node-metrics.ts"

export type CpCacheState = "fresh" | "cached" | "stale" | "expired"

export const cpCacheState = (failure: string | undefined): CpCacheState =>
  failure === undefined ? "fresh" : failure.includes("not been confirmed") ? "expired" : "stale"

export const observeCpCache = (metrics: NodeMetrics, readiness: Readiness): void => {
  metrics.gauge(
    "lattice_cp_cache_state",
    "The control-plane cache state, one-hot: fresh, cached, stale, expired.",
    ["state"],
    () => {
      const state = cpCacheState(Effect.runSync(readiness.evaluate).failures.cp_cache_fresh)
      return (["fresh", "cached", "stale", "expired"] as const).map(
        (s) => [{ state: s }, s === state ? 1 : 0] as const,
      )
    },
  )
  metrics.gauge(
    "lattice_cp_cache_age_seconds",
    "Seconds since the control-plane cache was last confirmed (since start when never).",
    [],
    () => Effect.runSync(readiness.evaluate).report.cache_age_seconds,
  )
}
