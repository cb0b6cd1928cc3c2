/**
 * Readiness: a fiber that proves a ReadIndex every `probeIntervalMs` (one batched heartbeat
 * round, as a client's linearizable read), and `evaluate`, which combines the latest proof with
 * the replica's live status into the `/readyz` report (schemas/readiness.ts).
 *
 * There is no separate control-plane group yet, so the conditions are defined on the KV group:
 *  - the manifest is the node's active cluster manifest: cluster name, groups, voters, learners;
 *  - routing_epoch is the log index of the membership configuration in force; it is valid when
 *    that configuration is committed and names this node;
 *  - cp_cache_fresh: the manifest was confirmed by a ReadIndex round of the current term at most
 *    `cacheMaxAgeMs` ago (cache_age_seconds counts from that confirmation);
 *  - can_serve_reads: the latest probe succeeded, at most `cacheMaxAgeMs` ago;
 *  - adapters_ready: the client listeners are up and the drain gate is open.
 * A draining node is never ready, nor one whose KV hash is the minority one in a divergence
 * check (src/node/divergence-check.ts): both show only in the verbose text, the JSON keeps the
 * HA guide's conditions.
 */
import { createHash } from "node:crypto"
import { Clock, Duration, Effect, type Scope } from "effect"
import type { ReadinessConditionName, ReadinessReport } from "../schemas/readiness.ts"
import type { GroupHandle } from "./group.ts"
import type { RequestGate } from "./request-gate.ts"

export interface ReadinessDeps {
  readonly nodeId: string
  readonly clusterName: string
  readonly groupIds: () => readonly number[]
  /** The group whose membership and reads readiness is judged on (the KV group). */
  readonly group: () => GroupHandle | undefined
  /** A linearizable read barrier on that group (fails when ReadIndex cannot be proven). */
  readonly barrier: Effect.Effect<unknown, unknown>
  readonly gate: RequestGate
  /** Whether the client listeners are up. */
  readonly adaptersUp: () => boolean
  /** Why this node's state is suspected to have diverged from the other members', or null. */
  readonly divergence?: () => string | null
  readonly probeIntervalMs: number
  readonly probeTimeoutMs: number
  readonly cacheMaxAgeMs: number
}

export interface ReadinessEvaluation {
  readonly report: ReadinessReport
  /** Why each failing condition fails (absent when it holds), plus "draining" and "divergence". */
  readonly failures: Readonly<Partial<Record<ReadinessConditionName | "draining" | "divergence", string>>>
}

export interface Readiness {
  readonly evaluate: Effect.Effect<ReadinessEvaluation>
  /** Runs one probe now (wait-ready and tests need not wait for the next interval). */
  readonly probeNow: Effect.Effect<void>
}

interface Probe {
  readonly at: number
  readonly ok: boolean
  readonly term: number
  readonly error: string
}

const FAILED_PROBE_RETRY_MS = 200

const CONDITIONS: readonly ReadinessConditionName[] = [
  "cp_cache_fresh",
  "routing_epoch_valid",
  "leader_elected",
  "can_serve_reads",
  "adapters_ready",
]

export const manifestDigest = (manifest: unknown): string =>
  `sha256:${createHash("sha256").update(JSON.stringify(manifest)).digest("hex")}`

export const startReadiness = (deps: ReadinessDeps): Effect.Effect<Readiness, never, Scope.Scope> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    let last: Probe | null = null
    let lastOk: Probe | null = null

    const probeOnce = Effect.gen(function* () {
      const term = deps.group()?.view.status.term ?? 0
      const result = yield* Effect.either(
        deps.barrier.pipe(
          Effect.timeoutFail({
            duration: Duration.millis(deps.probeTimeoutMs),
            onTimeout: () => `no ReadIndex proof within ${deps.probeTimeoutMs} ms`,
          }),
        ),
      )
      const at = yield* Clock.currentTimeMillis
      const error = result._tag === "Right" ? "" : describe(result.left)
      last = { at, ok: result._tag === "Right", term, error }
      if (last.ok) lastOk = last
      // A proof that straddled an election is recorded under the older term (conservative);
      // the caller proves again at once so a new term does not wait a whole interval.
      return last.ok && (deps.group()?.view.status.term ?? 0) !== term
    })
    const probeNow = Effect.gen(function* () {
      for (let i = 0; i < 3; i++) if (!(yield* probeOnce)) return
    })

    // After a failed probe the next comes sooner, so a node turns ready soon after its cluster
    // can serve again (a leader elected, a partition healed), not up to an interval later.
    const retryMs = Math.min(deps.probeIntervalMs, FAILED_PROBE_RETRY_MS)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.zipRight(
          probeNow,
          Effect.suspend(() => Effect.sleep(Duration.millis(last?.ok ? deps.probeIntervalMs : retryMs))),
        ),
      ),
    )

    const evaluate = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const h = deps.group()
      const st = h?.view.status
      const failures: Partial<Record<ReadinessConditionName | "draining" | "divergence", string>> = {}
      const conf = st?.conf ?? { voters: [], learners: [], votersOutgoing: [] }
      const manifest = {
        cluster: deps.clusterName,
        groups: [...deps.groupIds()].sort((a, b) => a - b),
        voters: [...conf.voters].sort(),
        learners: [...conf.learners].sort(),
      }
      const epoch = st?.confIndex ?? 0
      if (st === undefined) failures.leader_elected = "the KV group's replica is not running"
      else if (st.leader === null) failures.leader_elected = `no leader known in term ${st.term}`
      if (st === undefined) failures.routing_epoch_valid = "the KV group's replica is not running"
      else if (epoch > st.commit)
        failures.routing_epoch_valid = `membership at index ${epoch} is not committed yet (commit ${st.commit})`
      else if (!conf.voters.includes(deps.nodeId) && !conf.learners.includes(deps.nodeId))
        failures.routing_epoch_valid = `this node is not a member of the configuration at index ${epoch}`
      const ageMs = now - (lastOk?.at ?? startedAt)
      if (lastOk === null) failures.cp_cache_fresh = "the manifest has not been confirmed by a leader yet"
      else if (st !== undefined && lastOk.term !== st.term)
        failures.cp_cache_fresh = `last confirmed in term ${lastOk.term}, the current term is ${st.term}`
      else if (ageMs > deps.cacheMaxAgeMs)
        failures.cp_cache_fresh = `last confirmed ${Math.floor(ageMs / 1000)} s ago (bound ${deps.cacheMaxAgeMs / 1000} s)`
      if (last === null) failures.can_serve_reads = "no ReadIndex probe has completed yet"
      else if (!last.ok) failures.can_serve_reads = last.error
      else if (now - last.at > deps.cacheMaxAgeMs)
        failures.can_serve_reads = `the last successful probe is ${Math.floor((now - last.at) / 1000)} s old`
      if (!deps.adaptersUp()) failures.adapters_ready = "the client listeners are not up yet"
      else if (!deps.gate.accepting) failures.adapters_ready = "draining: new client requests are refused"
      if (deps.gate.draining) failures.draining = "the node is draining"
      const diverged = deps.divergence?.() ?? null
      if (diverged !== null) failures.divergence = diverged
      const conditions = Object.fromEntries(CONDITIONS.map((c) => [c, failures[c] === undefined])) as Record<
        ReadinessConditionName,
        boolean
      >
      const report: ReadinessReport = {
        ready: Object.keys(failures).length === 0,
        conditions,
        manifest_digest: manifestDigest(manifest),
        routing_epoch: epoch,
        cache_age_seconds: Math.max(0, Math.floor(ageMs / 1000)),
      }
      return { report, failures }
    })

    return { evaluate, probeNow }
  })

const describe = (e: unknown): string => {
  if (typeof e === "string") return e
  if (e !== null && typeof e === "object") {
    const tag = "_tag" in e ? String(e._tag) : "error"
    const reason = "reason" in e ? `: ${String(e.reason)}` : "message" in e ? `: ${String(e.message)}` : ""
    return `ReadIndex failed (${tag}${reason})`
  }
  return String(e)
}

/** etcd's `/readyz?verbose` text: one `[+]name ok` / `[-]name failed: reason` line per check. */
export const verboseText = (evaluation: ReadinessEvaluation): string => {
  const lines = CONDITIONS.map((c) => {
    const why = evaluation.failures[c]
    return why === undefined ? `[+]${c} ok` : `[-]${c} failed: ${why}`
  })
  lines.push(
    evaluation.failures.draining === undefined
      ? "[+]not_draining ok"
      : `[-]not_draining failed: ${evaluation.failures.draining}`,
  )
  lines.push(
    evaluation.failures.divergence === undefined
      ? "[+]no_divergence ok"
      : `[-]no_divergence failed: ${evaluation.failures.divergence}`,
  )
  lines.push(evaluation.report.ready ? "readyz check passed" : "readyz check failed")
  return `${lines.join("\n")}\n`
}
