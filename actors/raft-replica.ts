/**
 * RaftReplica: the one fiber that owns a group's RaftState. Each cycle it drains its mailbox
 * (ticks, messages, proposal batches, reads, admin inputs, apply acknowledgements), steps the
 * core once per input, then handles the Readys (api.ts loop contract):
 *  1. persist them through the group committer: one transaction shared with every other Ready
 *     submitted in this turn (other groups included), one fsync;
 *  2. only once durable, send their messages;
 *  3. step `persisted` for the log now durable (its Ready is handled the same way);
 *  4. hand committed entries (and received snapshots) to the apply loop, in log order.
 * Proposals are registered at their (index, term) and resolved by the apply loop.
 */
import { Deferred, Effect, Queue } from "effect"
import type { GroupId } from "../schemas/raft.ts"
import type { GroupMetrics } from "../src/metrics/node-metrics.ts"
import type { Input, RaftState, Ready } from "../src/raft/index.ts"
import { confStateAt, status, step, termOf } from "../src/raft/index.ts"
import type { Message } from "../src/raft/messages.ts"
import type { CorruptionError } from "../src/storage/errors.ts"
import type { GroupCommitter } from "../src/storage/group-commit.ts"
import type { StorageError } from "../src/storage/service.ts"
import type { TransportShape } from "../src/transport/transport.ts"
import { NotLeader, ReadUnavailable, ReplicaStopped, type RequestFailure } from "./errors.ts"
import { HardStateSync } from "./hard-state-sync.ts"
import type { PromotionIntents } from "./learner-promoter.ts"
import type { ApplyTask, PendingProposal, ReplicaInput, SnapshotReport } from "./mailbox.ts"
import { needsPersist, persistAll } from "./persist-all.ts"
import type { ReplicaView } from "./replica-view.ts"
import type { ProposalWaiters } from "./waiters.ts"

export interface RaftReplicaDeps {
  readonly group: GroupId
  readonly initial: RaftState
  readonly mailbox: Queue.Queue<ReplicaInput>
  readonly applyQueue: Queue.Queue<ApplyTask>
  readonly committer: GroupCommitter
  readonly transport: TransportShape
  readonly proposals: ProposalWaiters
  readonly view: ReplicaView
  /** Most inputs stepped per cycle (one persist + one send per cycle). */
  readonly maxInputsPerCycle?: number
  /** Entries kept behind a snapshot for slow followers. */
  readonly keepEntries: number
  readonly metrics?: GroupMetrics
  /** Records `addLearner {promote}` intents from the conf entries this replica appends. */
  readonly intents?: PromotionIntents
}

export const runRaftReplica = (
  deps: RaftReplicaDeps,
): Effect.Effect<never, StorageError | CorruptionError> => {
  let s = deps.initial
  let nextId = 1
  const pendingProposals = new Map<number, PendingProposal>()
  const pendingReads = new Map<number, Deferred.Deferred<number, RequestFailure>>()
  const pendingConf = new Map<number, Extract<ReplicaInput, { _tag: "confChange" }>>()
  const maxInputs = deps.maxInputsPerCycle ?? 1024
  const hardSync = new HardStateSync(s.term, s.vote)

  const stepCore = (input: Input): Ready => {
    const [next, ready] = step(s, input)
    s = next
    return ready
  }

  const toCore = (input: ReplicaInput): Input | null => {
    switch (input._tag) {
      case "tick":
        return { type: "tick" }
      case "message":
        return { type: "message", message: input.message }
      case "propose": {
        const batch = input.proposals.map((p) => {
          const id = nextId++
          pendingProposals.set(id, p)
          return { id, data: p.data }
        })
        return { type: "proposeBatch", proposals: batch }
      }
      case "readIndex": {
        const id = nextId++
        pendingReads.set(id, input.done)
        return { type: "readIndex", id }
      }
      case "transferLeader":
        return { type: "transferLeader", to: input.to }
      case "confChange": {
        const id = nextId++
        pendingConf.set(id, input)
        return { type: "confChange", id, change: input.change }
      }
      case "campaign":
        return { type: "campaign" }
      case "applied":
        return { type: "applied", index: input.index }
      case "snapshotTaken":
        return null
    }
  }

  /**
   * Raft thesis §10.2.1: while leader, its append/heartbeat/snapshot messages may leave before its
   * own write is durable (it counts its own log only after `persisted`). Everything else waits.
   */
  const isEarly = (m: Message): boolean =>
    s.role === "leader" &&
    m.from === s.id &&
    (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot")

  const send = (readys: readonly Ready[], early: boolean): Effect.Effect<void> => {
    const byPeer = new Map<string, Message[]>()
    for (const r of readys) {
      for (const m of r.messages) {
        if (isEarly(m) !== early) continue
        const list = byPeer.get(m.to)
        if (list === undefined) byPeer.set(m.to, [m])
        else list.push(m)
      }
    }
    return Effect.forEach(byPeer, ([to, msgs]) => deps.transport.sendRaft(to, msgs), { discard: true })
  }

  /** Before durability: register proposal outcomes and hand committed entries to the apply loop. */
  const beforePersist = (r: Ready): Effect.Effect<void> =>
    Effect.gen(function* () {
      if (r.entries.length > 0) deps.intents?.observe(r.entries)
      for (const p of r.proposals) {
        const conf = pendingConf.get(p.id)
        if (conf !== undefined) {
          pendingConf.delete(p.id)
          if (p.kind === "appended") deps.proposals.appended(p.index, p.term, conf.done)
          Deferred.unsafeDone(conf.outcome, Effect.succeed(p))
          continue
        }
        const pending = pendingProposals.get(p.id)
        if (pending === undefined) continue
        pendingProposals.delete(p.id)
        if (p.kind === "appended") deps.proposals.appended(p.index, p.term, pending.done)
        else Deferred.unsafeDone(pending.done, Effect.fail(new NotLeader({ leader: p.leader })))
      }
      // Committed entries are durable on a quorum already: applying them may overlap with this
      // node's own fsync (as etcd does). A received snapshot is installed only once durable.
      if (r.snapshot === null && r.committedEntries.length > 0) {
        yield* Queue.offer(deps.applyQueue, { _tag: "entries", entries: r.committedEntries })
      }
    })

  /** After durability: resolve reads, install a received snapshot (and the entries after it). */
  const afterPersist = (r: Ready): Effect.Effect<void> =>
    Effect.gen(function* () {
      for (const rs of r.readStates) {
        const done = pendingReads.get(rs.id)
        if (done === undefined) continue
        pendingReads.delete(rs.id)
        if (rs.kind === "ready") Deferred.unsafeDone(done, Effect.succeed(rs.index))
        else Deferred.unsafeDone(done, Effect.fail(new ReadUnavailable({ reason: rs.reason })))
      }
      if (r.softState !== null && r.softState.leader !== deps.view.status.leader) {
        deps.view.leaderChanges++
        deps.metrics?.leaderChanged(deps.view.status.leader, r.softState.leader)
      }
      if (r.snapshot !== null) {
        yield* Queue.offer(deps.applyQueue, { _tag: "install", snapshot: r.snapshot })
        if (r.committedEntries.length > 0) {
          yield* Queue.offer(deps.applyQueue, { _tag: "entries", entries: r.committedEntries })
        }
      }
    })

  const hasWork = (r: Ready): boolean =>
    needsPersist(r) ||
    r.messages.length > 0 ||
    r.committedEntries.length > 0 ||
    r.readStates.length > 0 ||
    r.proposals.length > 0 ||
    r.softState !== null

  const process = (readys: readonly Ready[]): Effect.Effect<void, StorageError | CorruptionError> =>
    Effect.gen(function* () {
      let batch = readys.filter(hasWork)
      while (batch.length > 0) {
        for (const r of batch) yield* beforePersist(r)
        yield* send(batch, true)
        yield* persistAll(deps.committer, deps.group, hardSync.toPersist(batch))
        yield* send(batch, false)
        for (const r of batch) yield* afterPersist(r)
        const wroteLog = batch.some(
          (r) => r.entries.length > 0 || r.snapshot !== null || r.truncateFrom !== null,
        )
        batch = []
        if (wroteLog) {
          const st = status(s)
          const r = stepCore({ type: "persisted", index: st.lastIndex, term: st.lastTerm })
          if (hasWork(r)) batch = [r]
        }
      }
    })

  /** The apply loop took a snapshot: make it durable in the log store, then let the core compact. */
  const snapshotTaken = (input: Extract<ReplicaInput, { _tag: "snapshotTaken" }>) =>
    Effect.gen(function* () {
      const meta = input.snapshot.meta
      // An operator's snapshot may not know the term (0): the committed entry's term in our log.
      const term = meta.term === 0 && input.done !== undefined ? termOf(s, meta.index) : meta.term
      // Only a snapshot of a committed entry this log holds with the same term may replace the log.
      if (meta.index > s.commit || termOf(s, meta.index) !== term || term <= 0) {
        if (input.done !== undefined) Deferred.unsafeDone(input.done, Effect.succeed(snapshotReport()))
        return null
      }
      const conf = confStateAt(s, meta.index) ?? meta.conf
      const snapshot = { meta: { ...meta, term, conf }, data: input.snapshot.data }
      yield* persistAll(deps.committer, deps.group, [
        { hardState: null, truncateFrom: null, entries: [], snapshot, compactTo: null },
      ])
      const ready = stepCore({
        type: "snapshotTaken",
        snapshot,
        keepEntries: input.keepEntries ?? deps.keepEntries,
      })
      if (input.done !== undefined) pendingSnapshotReports.push(input.done)
      return ready
    })

  /** Where the log stands now: answered to an operator's snapshot once its compaction is durable. */
  const snapshotReport = (): SnapshotReport => {
    const st = status(s)
    return {
      index: s.snapshot?.meta.index ?? 0,
      term: s.snapshot?.meta.term ?? 0,
      firstIndex: st.firstIndex,
      lastIndex: st.lastIndex,
    }
  }
  const pendingSnapshotReports: Deferred.Deferred<SnapshotReport, ReplicaStopped>[] = []

  const cycle = Effect.gen(function* () {
    const inputs = yield* Queue.takeBetween(deps.mailbox, 1, maxInputs)
    let readys: Ready[] = []
    for (const input of inputs) {
      if (input._tag === "snapshotTaken") {
        yield* process(readys)
        const taken = yield* snapshotTaken(input)
        readys = taken === null ? [] : [taken]
        continue
      }
      const core = toCore(input)
      if (core !== null) readys.push(stepCore(core))
    }
    yield* process(readys)
    for (const done of pendingSnapshotReports.splice(0))
      Deferred.unsafeDone(done, Effect.succeed(snapshotReport()))
    deps.view.status = status(s)
    deps.view.cycles++
  })

  const failPending = Effect.sync(() => {
    const stopped = new ReplicaStopped({ reason: `group ${deps.group}: replica stopped` })
    for (const p of pendingProposals.values()) Deferred.unsafeDone(p.done, Effect.fail(stopped))
    for (const d of pendingReads.values()) Deferred.unsafeDone(d, Effect.fail(stopped))
    for (const c of pendingConf.values()) Deferred.unsafeDone(c.outcome, Effect.fail(stopped))
    for (const d of pendingSnapshotReports.splice(0)) Deferred.unsafeDone(d, Effect.fail(stopped))
    pendingConf.clear()
    pendingProposals.clear()
    pendingReads.clear()
  })

  return Effect.forever(cycle).pipe(Effect.ensuring(failPending))
}
