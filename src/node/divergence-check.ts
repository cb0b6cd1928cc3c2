/**
 * The divergence check (etcd's periodic corruption check, over NATS): every
 * `[consensus] divergence_check_interval_seconds` each node hashes its KV state at its current
 * revision (HashKV semantics, src/kv/hash.ts) and asks every other member for its hash at that
 * same revision (service "kv-hash"). Members that answer with the same compaction revision must
 * have the same hash: replicas apply the same log. A mismatch is a divergence: it is counted
 * (`lattice_errors_divergences`), logged as an error naming the nodes, revision and hashes,
 * written to `divergence-report.json` in the data directory, and, when this node's hash is the
 * one in the minority, its readiness fails (`/readyz`: no_divergence) until a check agrees again.
 *
 * Hashing reads a connection of its own in one read transaction, yielding every few thousand
 * rows, so a large store is hashed without holding up Raft.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Clock, Duration, Effect, Schedule, type Scope } from "effect"
import { KvError } from "../../schemas/kv.ts"
import type { GroupId, NodeId } from "../../schemas/raft.ts"
import { type HashAt, hashKvSteps, KV_HASH_FORMAT } from "../kv/hash.ts"
import { kvTables } from "../kv/tables.ts"
import type { NodeMetrics } from "../metrics/node-metrics.ts"
import type { SqliteDatabase } from "../storage/driver.ts"
import type { TransportShape } from "../transport/transport.ts"

export const DIVERGENCE_SERVICE = "kv-hash"
export const DIVERGENCE_REPORT_FILE = "divergence-report.json"
/** Rows hashed between two yields to the scheduler. */
const HASH_CHUNK = 2000

interface HashRequest {
  readonly group: GroupId
  readonly revision: number
}

/** `format` is `KV_HASH_FORMAT`; a release from before it was added sends none (format 1). */
type HashReply =
  | ({ readonly ok: true; readonly format?: number } & HashAt)
  | { readonly ok: false; readonly error: string }

/** What one check of one group found. */
export interface DivergenceRound {
  readonly group: GroupId
  readonly revision: number
  readonly compactRevision: number
  /** Every hash compared, this node's included. */
  readonly hashes: Readonly<Record<NodeId, number>>
  /** Peers whose hash equals this node's. */
  readonly agree: readonly NodeId[]
  /** Peers whose hash differs from this node's at the same revision and compaction revision. */
  readonly disagree: readonly NodeId[]
  /** Peers not compared this time, with the reason (behind, compacted differently, unreachable). */
  readonly skipped: Readonly<Record<NodeId, string>>
  /** This node's hash is the minority one: more peers disagree with it than share it. */
  readonly suspect: boolean
}

export interface DivergenceChecker {
  /** Why this node's state is suspected to have diverged, or null (readiness reads this). */
  readonly suspected: () => string | null
  /** Runs one check of every group now. */
  readonly checkNow: Effect.Effect<readonly DivergenceRound[]>
}

export interface DivergenceDeps {
  readonly nodeId: NodeId
  readonly dataDir: string
  readonly transport: TransportShape
  readonly groups: readonly GroupId[]
  /** The group's current members (voters and learners), or null when its replica is not running. */
  readonly membersOf: (group: GroupId) => readonly NodeId[] | null
  /** A read-only connection to the group's KV database, used only for hashing. */
  readonly hashDb: (group: GroupId) => SqliteDatabase
  /**
   * Commits what the group has applied (its state machine's commit window) so that `hashDb`
   * sees it: without it a peer asked for our revision could still be behind it on disk.
   */
  readonly settle?: (group: GroupId) => void
  readonly metrics: NodeMetrics
  /** 0 disables the periodic check (the service still answers peers). */
  readonly intervalMs: number
  readonly requestTimeoutMs: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const startDivergenceChecker = (
  deps: DivergenceDeps,
): Effect.Effect<DivergenceChecker, never, Scope.Scope> =>
  Effect.gen(function* () {
    // One read transaction per connection at a time: a peer's request waits for our own hash.
    const hashing = yield* Effect.makeSemaphore(1)
    const hashAt = (group: GroupId, revision: number): Effect.Effect<HashAt | KvError> =>
      hashing.withPermits(1)(
        Effect.suspend(() => {
          deps.settle?.(group)
          const steps = hashKvSteps(deps.hashDb(group), kvTables(group), revision, HASH_CHUNK)
          const step = (): Effect.Effect<HashAt | KvError> => {
            const r = steps.next()
            return r.done === true ? Effect.succeed(r.value) : Effect.flatMap(Effect.yieldNow(), step)
          }
          return step()
        }),
      )

    yield* deps.transport
      .serve(DIVERGENCE_SERVICE, (payload) =>
        Effect.gen(function* () {
          const req = JSON.parse(decoder.decode(payload)) as HashRequest
          const reply: HashReply = !deps.groups.includes(req.group)
            ? { ok: false, error: `group ${req.group} is not on ${deps.nodeId}` }
            : yield* Effect.map(hashAt(req.group, req.revision), (r) =>
                r instanceof KvError
                  ? { ok: false as const, error: r.kind }
                  : { ok: true as const, format: KV_HASH_FORMAT, ...r },
              )
          return encoder.encode(JSON.stringify(reply))
        }),
      )
      .pipe(Effect.orDie)

    const suspectedGroups = new Map<GroupId, string>()

    const askPeer = (peer: NodeId, req: HashRequest): Effect.Effect<HashReply> =>
      deps.transport
        .request(
          peer,
          DIVERGENCE_SERVICE,
          encoder.encode(JSON.stringify(req)),
          Duration.millis(deps.requestTimeoutMs),
        )
        .pipe(
          Effect.map((bytes) => JSON.parse(decoder.decode(bytes)) as HashReply),
          Effect.catchAll((e) => Effect.succeed<HashReply>({ ok: false, error: `unreachable (${e._tag})` })),
        )

    const checkGroup = (group: GroupId): Effect.Effect<DivergenceRound | null> =>
      Effect.gen(function* () {
        const members = deps.membersOf(group)
        if (members === null) return null
        const mine = yield* hashAt(group, 0)
        if (mine instanceof KvError) return null
        const peers = members.filter((m) => m !== deps.nodeId)
        const replies = yield* Effect.forEach(
          peers,
          (peer) => Effect.map(askPeer(peer, { group, revision: mine.revision }), (r) => [peer, r] as const),
          { concurrency: "unbounded" },
        )
        const hashes: Record<NodeId, number> = { [deps.nodeId]: mine.hash }
        const agree: NodeId[] = []
        const disagree: NodeId[] = []
        const skipped: Record<NodeId, string> = {}
        for (const [peer, r] of replies) {
          if (!r.ok) skipped[peer] = r.error === "FutureRev" ? "behind this revision" : r.error
          else if ((r.format ?? 1) !== KV_HASH_FORMAT)
            // A rolling upgrade across a change of hash format: the hashes cannot agree.
            skipped[peer] = `hash format ${r.format ?? 1}, here ${KV_HASH_FORMAT} (mixed lattice releases)`
          else if (r.compactRevision !== mine.compactRevision)
            // Hashes cover the rows above the compaction floor: only equal floors compare (as etcd).
            skipped[peer] = `compaction revision ${r.compactRevision}, here ${mine.compactRevision}`
          else {
            hashes[peer] = r.hash
            ;(r.hash === mine.hash ? agree : disagree).push(peer)
          }
        }
        return {
          group,
          revision: mine.revision,
          compactRevision: mine.compactRevision,
          hashes,
          agree,
          disagree,
          skipped,
          suspect: disagree.length > agree.length + 1,
        }
      })

    const record = (round: DivergenceRound): Effect.Effect<void> =>
      Effect.gen(function* () {
        if (round.disagree.length === 0) {
          if (round.agree.length > 0) suspectedGroups.delete(round.group)
          return
        }
        deps.metrics.divergences.labels(String(round.group)).inc(round.disagree.length)
        const hex = (n: number | undefined) => (n ?? 0).toString(16).padStart(8, "0")
        const detail = round.disagree.map((p) => `${p} has ${hex(round.hashes[p])}`).join(", ")
        const message =
          `STATE DIVERGENCE DETECTED in group ${round.group} at revision ${round.revision}: ` +
          `${deps.nodeId} has hash ${hex(round.hashes[deps.nodeId])}, ${detail}` +
          (round.agree.length > 0 ? `; ${round.agree.join(", ")} agree with ${deps.nodeId}` : "") +
          (round.suspect ? `; ${deps.nodeId} is in the minority: its state is suspect` : "") +
          `. Do not restart or wipe a node before keeping its data directory for analysis (docs/operations.md#state-divergence).`
        if (round.suspect) suspectedGroups.set(round.group, message)
        yield* Effect.logError(message).pipe(
          Effect.annotateLogs({
            group: round.group,
            revision: round.revision,
            compact_revision: round.compactRevision,
            diverged_nodes: round.disagree.join(","),
            agreeing_nodes: round.agree.join(","),
            suspect: round.suspect,
          }),
        )
        const at = new Date(yield* Clock.currentTimeMillis).toISOString()
        yield* Effect.try(() =>
          writeFileSync(
            join(deps.dataDir, DIVERGENCE_REPORT_FILE),
            `${JSON.stringify({ detected_at: at, node: deps.nodeId, ...round }, null, 2)}\n`,
          ),
        ).pipe(
          Effect.catchAll((e) => Effect.logWarning(`cannot write ${DIVERGENCE_REPORT_FILE}: ${String(e)}`)),
        )
      })

    const checkNow = Effect.gen(function* () {
      const rounds: DivergenceRound[] = []
      for (const g of deps.groups) {
        const round = yield* checkGroup(g)
        if (round === null) continue
        yield* record(round)
        rounds.push(round)
      }
      return rounds
    })

    if (deps.intervalMs > 0)
      yield* Effect.forkScoped(
        Effect.repeat(
          checkNow.pipe(Effect.catchAllCause((c) => Effect.logWarning("divergence check failed", c))),
          Schedule.spaced(Duration.millis(deps.intervalMs)),
        ).pipe(Effect.delay(Duration.millis(deps.intervalMs))),
      )

    return {
      suspected: () => (suspectedGroups.size === 0 ? null : [...suspectedGroups.values()].join("; ")),
      checkNow,
    }
  })
