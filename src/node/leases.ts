/**
 * The lease operations of a node, in milliseconds (the unit the state machine keeps): what the
 * etcd adapter (seconds), the SDK and embedded clusters build on. Grant, revoke and renew are
 * replicated writes (forwarded to the leader by a follower; renewals are batched by the leader's
 * LeaseKeeper); time-to-live and list are linearizable reads (ReadIndex barrier, LIN-BOUND).
 */
import { Effect } from "effect"
import { KvError, type KvOutcome, type KvResponse } from "../../schemas/kv.ts"
import type { GroupId } from "../../schemas/raft.ts"
import { KV_GROUP, type LatticeNode, type WriteFailure } from "./node.ts"

export interface LeaseInfo {
  readonly id: bigint
  /** The granted TTL. */
  readonly ttlMs: number
  /** What is left of it on the committed clock. */
  readonly remainingMs: number
  readonly keys: readonly { readonly tenant: string; readonly key: Uint8Array }[]
}

type Response<T extends KvResponse["type"]> = Extract<KvResponse, { type: T }>["response"]

export class MissingOutcome extends Error {
  override readonly name = "MissingOutcome"
}

const expect = <T extends KvResponse["type"]>(
  outcome: KvOutcome | null,
  type: T,
): Effect.Effect<Response<T>, KvError | MissingOutcome> => {
  if (outcome === null) return Effect.fail(new MissingOutcome(`the ${type} entry carried no KV outcome`))
  if (!outcome.ok) return Effect.fail(outcome.error)
  if (outcome.response.type !== type)
    return Effect.fail(new MissingOutcome(`state machine answered ${outcome.response.type} to ${type}`))
  return Effect.succeed(outcome.response.response as Response<T>)
}

export type LeaseFailure = WriteFailure | KvError | MissingOutcome

/**
 * Coalesces renewals on this node: while one `leaseRenew` write is in flight (forwarded to the
 * leader from a follower), the renewals arriving meanwhile wait and go together in the next one.
 * So a node sends one renewal request per round, whatever the number of keep-alive streams.
 */
const renewBatcher = (node: LatticeNode, group: GroupId) => {
  type Waiter = { readonly id: bigint; readonly done: (r: Effect.Effect<number, LeaseFailure>) => void }
  let pending: Waiter[] = []
  let running = false
  const round = (batch: Waiter[]) =>
    node.write({ type: "leaseRenew", request: { ids: batch.map((w) => w.id) } }, group).pipe(
      Effect.flatMap((o) => expect(o, "leaseRenew")),
      Effect.match({
        onFailure: (e) => {
          for (const w of batch) w.done(Effect.fail(e))
        },
        onSuccess: (r) => {
          batch.forEach((w, i) => {
            const ttl = r.ttlsMs[i] ?? -1
            w.done(ttl < 0 ? Effect.fail(new KvError("LeaseNotFound")) : Effect.succeed(ttl))
          })
        },
      }),
    )
  const drain = Effect.gen(function* () {
    while (pending.length > 0) {
      const batch = pending.slice(0, MAX_RENEWALS_PER_ENTRY)
      pending = pending.slice(batch.length)
      yield* round(batch)
    }
  }).pipe(Effect.ensuring(Effect.sync(() => (running = false))))
  return (id: bigint): Effect.Effect<number, LeaseFailure> =>
    Effect.async<number, LeaseFailure>((resume) => {
      pending.push({ id, done: resume })
      if (!running) {
        running = true
        Effect.runFork(drain)
      }
    })
}

/** Most lease ids in one renewal entry. */
const MAX_RENEWALS_PER_ENTRY = 4096

export const nodeLeases = (node: LatticeNode, group: GroupId = KV_GROUP) => ({
  /** Grants a lease of `ttlMs` (id 0: the group assigns one). */
  grant: (ttlMs: number, id = 0n) =>
    node
      .write({ type: "leaseGrant", request: { id, ttlMs } }, group)
      .pipe(Effect.flatMap((o) => expect(o, "leaseGrant"))),

  /** Revokes a lease and deletes its keys in one revision; the revision after it. */
  revoke: (id: bigint) =>
    node
      .write({ type: "leaseRevoke", request: { id } }, group)
      .pipe(Effect.flatMap((o) => expect(o, "leaseRevoke"))),

  /** Runs the lease's TTL again; the granted TTL (ms), or LeaseNotFound. Batched per round. */
  renew: renewBatcher(node, group),

  /** A live lease (linearizable read), with its attached keys; LeaseNotFound otherwise. */
  timeToLive: (id: bigint) =>
    node.barrier(group).pipe(
      Effect.flatMap((h) => {
        const lease = h.sm.lease(id)
        if (lease === undefined) return Effect.fail(new KvError("LeaseNotFound"))
        const info: LeaseInfo = { ...lease, keys: h.sm.keysAttachedTo(id) }
        return Effect.succeed(info)
      }),
    ),

  /** Every live lease id, ascending (linearizable read). */
  list: () => node.barrier(group).pipe(Effect.map((h) => h.sm.leaseIds())),
})

export type NodeLeases = ReturnType<typeof nodeLeases>
