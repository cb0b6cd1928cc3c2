/**
 * Membership changes from any node: proposed on the group's leader, or forwarded to it over the
 * Transport (service "conf-change"; request and reply are small JSON documents). Retried while
 * the change was certainly not appended (no leader yet, leader moved, another change committing).
 */
import { Clock, Duration, Effect } from "effect"
import { ConfChangeRefused, NotLeader, type RequestFailure } from "../../actors/errors.ts"
import type { GroupHandle } from "../../actors/group.ts"
import type { ConfChange, ConfState, GroupId, NodeId } from "../../schemas/raft.ts"
import type { TransportShape } from "../transport/transport.ts"

export const CONF_SERVICE = "conf-change"

export class MembershipTimedOut extends Error {
  override readonly name = "MembershipTimedOut"
  readonly _tag = "MembershipTimedOut"
}

export type MembershipFailure = RequestFailure | ConfChangeRefused | MembershipTimedOut

interface ConfRequest {
  readonly group: GroupId
  readonly change: ConfChange
}

type ConfReply =
  | { readonly ok: true }
  | { readonly ok: false; readonly tag: string; readonly reason: string; readonly retryable: boolean }

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

const replyOf = (failure: MembershipFailure): ConfReply => ({
  ok: false,
  tag: failure._tag,
  reason:
    "reason" in failure
      ? String(failure.reason)
      : failure._tag === "MembershipTimedOut"
        ? failure.message
        : "",
  retryable: failure._tag === "ConfChangeRefused" ? failure.retryable : failure._tag === "NotLeader",
})

/** The leader side: propose locally, never forward again. */
export const serveConfChanges = (transport: TransportShape, group: (g: GroupId) => GroupHandle | undefined) =>
  transport.serve(CONF_SERVICE, (payload) =>
    Effect.gen(function* () {
      const req = JSON.parse(decoder.decode(payload)) as ConfRequest
      const h = group(req.group)
      if (h === undefined)
        return encode({ ok: false, tag: "NotLeader", reason: "group not running", retryable: true })
      return yield* h
        .changeConf(req.change)
        .pipe(Effect.match({ onSuccess: () => encode({ ok: true }), onFailure: (f) => encode(replyOf(f)) }))
    }),
  )

export interface MembershipDeps {
  readonly self: NodeId
  readonly transport: TransportShape
  readonly group: (g: GroupId) => GroupHandle | undefined
}

/** Applies `change` to `group` through its leader, retrying until `timeoutMs` while that is safe. */
export const changeMembership = (
  deps: MembershipDeps,
  change: ConfChange,
  g: GroupId,
  timeoutMs: number,
  retryMs: number,
): Effect.Effect<void, MembershipFailure> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    let last: MembershipFailure = new NotLeader({ leader: null })
    while (true) {
      const now = yield* Clock.currentTimeMillis
      if (now >= deadline)
        return yield* Effect.fail(
          last._tag === "NotLeader"
            ? new MembershipTimedOut(
                `no leader accepted ${change.type} ${change.node} within ${timeoutMs} ms`,
              )
            : last,
        )
      const h = deps.group(g)
      const leader = h?.view.status.leader ?? null
      const attempt: Effect.Effect<void, MembershipFailure> =
        h === undefined || leader === null
          ? Effect.fail(new NotLeader({ leader: null }))
          : leader === deps.self
            ? h.changeConf(change)
            : forwardChange(deps.transport, leader, { group: g, change }, deadline - now)
      const result = yield* Effect.either(attempt)
      if (result._tag === "Right") return
      last = result.left
      // A retried change may have gone through on an earlier attempt: then it is done.
      const conf = deps.group(g)?.view.status.conf
      if (last._tag === "ConfChangeRefused" && conf !== undefined && inEffect(conf, change)) return
      const retry =
        last._tag === "NotLeader" || (last._tag === "ConfChangeRefused" && last.retryable === true)
      if (!retry) return yield* Effect.fail(last)
      yield* Effect.sleep(Duration.millis(retryMs))
    }
  })

const inEffect = (conf: ConfState, change: ConfChange): boolean => {
  switch (change.type) {
    case "addVoter":
      return conf.voters.includes(change.node)
    case "addLearner":
    case "demoteToLearner":
      return conf.learners.includes(change.node)
    case "removeNode":
      return !conf.voters.includes(change.node) && !conf.learners.includes(change.node)
  }
}

const forwardChange = (
  transport: TransportShape,
  leader: NodeId,
  req: ConfRequest,
  budgetMs: number,
): Effect.Effect<void, MembershipFailure> =>
  transport.request(leader, CONF_SERVICE, encode(req), Duration.millis(Math.max(1, budgetMs))).pipe(
    Effect.mapError(
      (e): MembershipFailure =>
        e._tag === "RequestTimeout"
          ? new MembershipTimedOut(`forwarding ${req.change.type} to ${leader}: no answer`)
          : new NotLeader({ leader: null }),
    ),
    Effect.flatMap((bytes): Effect.Effect<void, MembershipFailure> => {
      const reply = JSON.parse(decoder.decode(bytes)) as ConfReply
      if (reply.ok) return Effect.void
      if (reply.tag === "ConfChangeRefused")
        return Effect.fail(new ConfChangeRefused({ reason: reply.reason, retryable: reply.retryable }))
      if (reply.tag === "MembershipTimedOut") return Effect.fail(new MembershipTimedOut(reply.reason))
      // Any other failure at the leader (not leader any more, stopped, overloaded): ask again.
      return Effect.fail(new NotLeader({ leader: null }))
    }),
  )
