/**
 * One Raft group's actors, started together in one scope: the RaftReplica, its ApplyLoop, the
 * ProposalBatcher, the ReadIndexBatcher, the LeaseKeeper and the ticker (which also drives the
 * lease keeper's clock and the learner promoter: one timer per group). `runGroup` loads the group's durable
 * state (log store + state machine), publishes a `GroupHandle`, and runs until one of the loops
 * fails; the supervisor decides what happens next.
 */
import { Deferred, Effect, Either } from "effect"
import type { ConfChange, ConfState, GroupId, NodeId } from "../schemas/raft.ts"
import { commandTypeOf } from "../src/kv/codec.ts"
import type { ApplyResult } from "../src/kv/state-machine.ts"
import { KvStateMachine } from "../src/kv/state-machine.ts"
import { type GroupMetrics, secondsSince } from "../src/metrics/node-metrics.ts"
import type { RaftConfig } from "../src/raft/api.ts"
import { initRaft, invalidConfChange, type ProposalOutcome, status } from "../src/raft/index.ts"
import type { Message } from "../src/raft/messages.ts"
import type { SqliteDatabase } from "../src/storage/driver.ts"
import type { GroupCommitter } from "../src/storage/group-commit.ts"
import type { LogStore } from "../src/storage/log-store.ts"
import type { TransportShape } from "../src/transport/transport.ts"
import { type AppliedChanges, ApplyFailed, runApplyLoop } from "./apply-loop.ts"
import { ConfChangeRefused, NotLeader, type ReplicaStopped, type RequestFailure } from "./errors.ts"
import { runGroupTicker } from "./group-ticker.ts"
import { Inbox } from "./inbox.ts"
import {
  LEARNER_MAX_LAG,
  learnerCaughtUp,
  learnerPromoterCheck,
  PromotionIntents,
} from "./learner-promoter.ts"
import { makeLeaseKeeper } from "./lease-keeper.ts"
import type { ApplyTask, ReplicaInput, SnapshotReport } from "./mailbox.ts"
import { makeProposalBatcher, type ProposalBatcher } from "./proposal-batcher.ts"
import { runRaftReplica } from "./raft-replica.ts"
import { makeReadIndexBatcher } from "./read-index-batcher.ts"
import { ChangeSignal, type ReplicaView } from "./replica-view.ts"
import { decodeKvSnapshot } from "./snapshot-data.ts"
import { AppliedWatch, ProposalWaiters } from "./waiters.ts"

export interface GroupSettings {
  readonly self: NodeId
  readonly bootstrap: ConfState
  readonly tickMs: number
  readonly raft: Omit<RaftConfig, "group" | "id" | "seed">
  readonly batchSize: number
  readonly batchTimeoutMs: number
  readonly readTimeoutMs: number
  readonly snapshotInterval: number
  readonly keepEntries: number
  /** Keys whose newest version the state machine keeps in memory (`[performance] cache_size`). */
  readonly keyCacheSize?: number
  readonly mailboxCapacity: number
  /** Lease tick interval while leases exist (expiry resolution); see lease-keeper.ts. */
  readonly leaseTickMs?: number
}

export const DEFAULT_LEASE_TICK_MS = 100
/** Tick interval while the lease table is empty. */
export const IDLE_LEASE_TICK_MS = 1000

export interface GroupDeps {
  readonly group: GroupId
  readonly settings: GroupSettings
  readonly store: LogStore
  readonly committer: GroupCommitter
  readonly kvDb: SqliteDatabase
  /** A read-only second connection to the same file: automatic snapshots are read through it in the background. */
  readonly kvSnapshotReader?: SqliteDatabase
  readonly transport: TransportShape
  /** The group's metrics (src/metrics/); none in tests that do not need them. */
  readonly metrics?: GroupMetrics
  /** Varies the election-timeout PRNG between restarts. */
  readonly seed: number
  /** Hears every applied change (the group's WatchHub, which outlives replica restarts). */
  readonly changes?: AppliedChanges
}

export interface GroupHandle {
  readonly group: GroupId
  readonly sm: KvStateMachine
  readonly view: ReplicaView
  readonly applied: AppliedWatch
  readonly propose: (
    data: Uint8Array,
  ) => Effect.Effect<import("../src/kv/state-machine.ts").ApplyResult | null, RequestFailure>
  /**
   * `propose` for a request handler, without a fiber: the outcome goes to `onOutcome`. Null when
   * it cannot be queued now (a lease renewal, or a full queue): use `propose`.
   */
  readonly proposeNow: ProposalBatcher["proposeNow"]
  /** Completes when a linearizable read may be served from `sm` (LIN-BOUND otherwise). */
  readonly readBarrier: Effect.Effect<void, RequestFailure>
  /**
   * One ReadIndex round without a fiber, for a caller that batches reads itself (the node's read
   * coalescer): `done(null)` once a read may be served from `sm`, else `done(failure)`; no
   * timeout of its own. False when the mailbox is full (nothing started).
   */
  readonly readBarrierNow: (done: (failure: RequestFailure | null) => void) => boolean
  /**
   * A membership change proposed here (this node must lead: `NotLeader` otherwise); completes
   * once the change is committed and applied.
   */
  readonly changeConf: (change: ConfChange) => Effect.Effect<void, RequestFailure | ConfChangeRefused>
  /** Hands an inbound Raft message to the replica; dropped (and counted) if its mailbox is full. */
  readonly deliver: (message: Message) => void
  readonly send: (input: ReplicaInput) => Effect.Effect<void>
  /** An operator's snapshot now, then log compaction keeping `keepEntries` (default: the configured). */
  readonly snapshotNow: (keepEntries?: number) => Effect.Effect<SnapshotReport, ReplicaStopped>
  /** Learners to promote once caught up (see learner-promoter.ts). */
  readonly intents: PromotionIntents
}

/** Makes the KV state machine catch up with a durable Raft snapshot it has not applied (a crash mid-install). */
const catchUpWithSnapshot = (store: LogStore, group: GroupId, sm: KvStateMachine) =>
  Effect.promise(async () => {
    const meta = store.snapshotMeta(group)
    if (meta === null || meta.index <= sm.appliedIndex) return
    await sm.restore(decodeKvSnapshot(concat([...store.readSnapshot(group)])))
  })

export const runGroup = (
  deps: GroupDeps,
  publish: (handle: GroupHandle | null) => void,
): Effect.Effect<never, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { group, settings, store } = deps
      // Commit windows: the apply loop's writes are committed once a tick (see commitWindows).
      const sm = KvStateMachine.open(deps.kvDb, {
        group,
        cacheSize: settings.keyCacheSize ?? 0,
        commitWindows: true,
      })
      // However the group ends, what it applied is committed (or dropped, to be applied again).
      yield* Effect.addFinalizer(() => Effect.sync(() => sm.closeWindow()))
      yield* catchUpWithSnapshot(store, group, sm)
      let loaded = store.load(group)
      if (
        loaded.snapshot === null &&
        loaded.entries.length === 0 &&
        loaded.bootstrapConf.voters.length === 0
      ) {
        store.bootstrap(group, settings.bootstrap)
        loaded = store.load(group)
      }
      const state = initRaft(
        { ...settings.raft, group, id: settings.self, seed: deps.seed },
        { ...loaded, applied: sm.appliedIndex },
      )
      const intents = new PromotionIntents()
      intents.observe(loaded.entries)
      const mailbox = new Inbox<ReplicaInput>(settings.mailboxCapacity)
      // Unbounded on purpose: the replica must never block on the apply loop while the apply
      // loop waits for room in the replica's mailbox. Raft's in-flight limits bound it anyway.
      const applyQueue = new Inbox<ApplyTask>(Number.POSITIVE_INFINITY)
      const proposals = new ProposalWaiters()
      const applied = new AppliedWatch(sm.appliedIndex)
      const view: ReplicaView = {
        self: settings.self,
        status: status(state),
        leaderChanges: 0,
        leaderChanged: new ChangeSignal(),
        droppedMessages: 0,
        cycles: 0,
      }
      const batcher = yield* makeProposalBatcher({
        mailbox,
        batchSize: settings.batchSize,
        batchTimeoutMs: settings.batchTimeoutMs,
        capacity: settings.mailboxCapacity,
      })
      const reads = yield* makeReadIndexBatcher({
        mailbox,
        applied,
        timeoutMs: settings.readTimeoutMs,
        capacity: settings.mailboxCapacity,
      })
      const leaseTickMs = settings.leaseTickMs ?? DEFAULT_LEASE_TICK_MS
      const keeper = yield* makeLeaseKeeper({
        group,
        sm,
        view,
        mailbox,
        tickMs: leaseTickMs,
        idleTickMs: Math.max(leaseTickMs, IDLE_LEASE_TICK_MS),
      })
      // Renewals are batched into one entry per round by the lease keeper.
      const routed: GroupHandle["propose"] = (data) =>
        commandTypeOf(data) === "leaseRenew" ? keeper.renew(data) : batcher.propose(data)
      yield* Effect.forkScoped(batcher.run)
      yield* Effect.forkScoped(Effect.scoped(reads.run))
      const stopReason = `group ${group}: replica stopped`
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          publish(null)
          proposals.failAll(stopReason)
          applied.failAll(stopReason)
        }),
      )
      const handle: GroupHandle = {
        group,
        sm,
        view,
        applied,
        propose: deps.metrics === undefined ? routed : timedPropose(routed, deps.metrics),
        proposeNow: (data, onOutcome) => {
          if (commandTypeOf(data) === "leaseRenew") return null
          const metrics = deps.metrics
          if (metrics === undefined) return batcher.proposeNow(data, onOutcome)
          const start = performance.now()
          const done = batcher.proposeNow(data, (outcome) => {
            metrics.proposalSeconds.observe(secondsSince(start))
            onOutcome(outcome)
          })
          if (done !== null) metrics.proposals.inc()
          return done
        },
        readBarrier: reads.barrier,
        readBarrierNow: (done) =>
          mailbox.unsafeOffer({
            _tag: "readIndex",
            done: (proven) => {
              if (Either.isLeft(proven)) done(proven.left)
              else applied.whenApplied(proven.right, done)
            },
          }),
        changeConf: (change) =>
          Effect.gen(function* () {
            // As etcd: a learner becomes a voter only once it has caught up with the leader.
            const st = view.status
            if (change.type === "addVoter" && st.conf.learners.includes(change.node)) {
              if (learnerCaughtUp(st, change.node, LEARNER_MAX_LAG) === false) {
                const match = st.progress?.[change.node]?.match ?? 0
                return yield* Effect.fail(
                  new ConfChangeRefused({
                    reason: `learner ${change.node} is not caught up with the leader (match ${match} of ${st.lastIndex})`,
                    retryable: false,
                  }),
                )
              }
            }
            const outcome = yield* Deferred.make<ProposalOutcome, ReplicaStopped>()
            const done = yield* Deferred.make<ApplyResult | null, RequestFailure>()
            yield* mailbox.offer({ _tag: "confChange", change, outcome, done })
            const o = yield* Deferred.await(outcome)
            if (o.kind === "rejected") {
              if (o.reason === "notLeader" || o.reason === "noLeader")
                return yield* Effect.fail(new NotLeader({ leader: o.leader }))
              const invalid = o.reason === "notVoter"
              const why = invalid
                ? (invalidConfChange(view.status.conf, change) ?? "invalid for the current membership")
                : o.reason === "transferring"
                  ? "a leadership transfer is in progress"
                  : "another membership change is still being committed"
              return yield* Effect.fail(new ConfChangeRefused({ reason: why, retryable: !invalid }))
            }
            yield* Deferred.await(done)
          }),
        deliver: (message) => {
          if (!mailbox.unsafeOffer({ _tag: "message", message })) view.droppedMessages++
        },
        send: (input) => mailbox.offer(input),
        snapshotNow: (keepEntries) =>
          Effect.gen(function* () {
            const done = yield* Deferred.make<SnapshotReport, ReplicaStopped>()
            yield* applyQueue.offer({
              _tag: "snapshotNow",
              done,
              ...(keepEntries === undefined ? {} : { keepEntries }),
            })
            return yield* Deferred.await(done)
          }),
        intents,
      }
      publish(handle)
      const ticker = runGroupTicker({
        tickMs: settings.tickMs,
        mailbox,
        leaseTick: keeper.tick,
        leaseEveryTicks: Math.max(1, Math.round(leaseTickMs / 2 / settings.tickMs)),
        promoterCheck: learnerPromoterCheck({
          view,
          intents,
          changeConf: handle.changeConf,
          maxLag: LEARNER_MAX_LAG,
          stableChecks: 3,
        }),
        promoteEveryTicks: Math.max(1, settings.raft.heartbeatTicks, Math.ceil(20 / settings.tickMs)),
        promotionsPending: () => intents.size > 0,
        commitApplies: () => {
          if (sm.uncommitted) applyQueue.unsafeOffer({ _tag: "commit" })
        },
      })
      const replica = runRaftReplica({
        group,
        initial: state,
        mailbox,
        applyQueue,
        committer: deps.committer,
        transport: deps.transport,
        proposals,
        view,
        keepEntries: settings.keepEntries,
        ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
        intents,
      })
      const apply = runApplyLoop({
        group,
        sm,
        applyQueue,
        mailbox,
        proposals,
        applied,
        snapshotInterval: settings.snapshotInterval,
        lastSnapshotIndex: loaded.snapshot?.meta.index ?? 0,
        ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
        changes: deps.changes,
        ...(deps.kvSnapshotReader === undefined ? {} : { snapshotReader: deps.kvSnapshotReader }),
      })
      return yield* Effect.raceFirst(Effect.raceFirst(replica, apply), Effect.raceFirst(keeper.run, ticker))
    }),
  )

export { ApplyFailed }

/** Counts proposals and times each one until its entry is applied (or it fails). */
const timedPropose =
  (propose: GroupHandle["propose"], metrics: GroupMetrics): GroupHandle["propose"] =>
  (data) =>
    Effect.suspend(() => {
      metrics.proposals.inc()
      const start = performance.now()
      return Effect.ensuring(
        propose(data),
        Effect.sync(() => metrics.proposalSeconds.observe(secondsSince(start))),
      )
    })

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}
