/**
 * RaftReplica: owns a group's RaftState. Each cycle drains its mailbox (ticks, messages, proposal
 * batches, reads, admin inputs, apply acknowledgements, durability notices), steps the core once
 * per input, then handles the Readys (api.ts loop contract):
 *  1. submit them to the group committer: one transaction shared with every other Ready
 *     submitted in this turn (other groups included), one fsync;
 *  2. only once durable, send their messages (a leader's own appends and heartbeats may leave
 *     at once, see `isEarly`);
 *  3. step `persisted` for the log now durable (the `durable` input);
 *  4. hand committed entries (and received snapshots) to the apply loop, in log order.
 * Persisting is pipelined (as etcd's raft with asynchronous storage writes): the replica does not
 * wait for a cycle's fsync before stepping the next inputs, so a leader keeps taking proposals
 * and counting followers' acknowledgements while its own disk syncs. The committer's callbacks
 * complete the cycles in submission order (steps 2 and 3, `completeDurable`), so no message
 * leaves before every earlier Ready is durable too; they run as plain calls, not on a fiber of
 * their own, because a fiber wake-up per cycle costs tens of µs here. Proposals are registered
 * at their (index, term) and resolved by the apply loop.
 *
 * A cycle is plain code that the mailbox (an `Inbox`) runs in a microtask once inputs arrive; the
 * replica's fiber supervises it: it writes the cycles' log lines, runs the rare cycle that
 * persists a snapshot (an Effect; plain cycles wait for it), and ends with the first failure (a
 * failed write, a lost log, a defect in a cycle). Its end detaches the cycles from the mailbox.
 */
import { Deferred, Effect, Either, FiberId, Queue } from "effect"
import type { GroupId } from "../schemas/raft.ts"
import type { GroupMetrics } from "../src/metrics/node-metrics.ts"
import type { Input, LogLost, RaftState, Ready } from "../src/raft/index.ts"
import { confStateAt, lastIndexOf, lastTermOf, status, step, termOf } from "../src/raft/index.ts"
import type { Message } from "../src/raft/messages.ts"
import { repeatForever } from "../src/repeat-forever.ts"
import { CorruptionError } from "../src/storage/errors.ts"
import type { GroupCommitter } from "../src/storage/group-commit.ts"
import type { StorageError } from "../src/storage/service.ts"
import type { TransportShape } from "../src/transport/transport.ts"
import { NotLeader, ReadUnavailable, ReplicaStopped, type RequestFailure } from "./errors.ts"
import { HardStateSync } from "./hard-state-sync.ts"
import type { Inbox, Offerable } from "./inbox.ts"
import type { PromotionIntents } from "./learner-promoter.ts"
import type { ApplyTask, PendingProposal, ReplicaInput, SnapshotReport } from "./mailbox.ts"
import { needsPersist, persistAll, submitAll } from "./persist-all.ts"
import type { ReplicaView } from "./replica-view.ts"
import { failProposal, type ProposalWaiters } from "./waiters.ts"

export interface RaftReplicaDeps {
  readonly group: GroupId
  readonly initial: RaftState
  readonly mailbox: Inbox<ReplicaInput>
  readonly applyQueue: Offerable<ApplyTask>
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

/** One cycle's Readys on their way to the disk, in submission order. */
interface InFlight {
  readonly readys: readonly Ready[]
  /** The committer reported them durable. */
  durable: boolean
  /** Messages that may leave only once this cycle (and every earlier one) is durable. */
  readonly late: ReadonlyMap<string, Message[]>
  /** The log position this cycle made durable (null: it wrote no log). */
  readonly persisted: { readonly index: number; readonly term: number } | null
  /** Committed entries handed to the apply loop only after this cycle (see `deferredApplies`). */
  readonly deferApply: boolean
  /** Operators' snapshot requests, answered once this cycle (their compaction) is durable. */
  readonly reports: readonly Deferred.Deferred<SnapshotReport, ReplicaStopped>[]
}

export const runRaftReplica = (
  deps: RaftReplicaDeps,
): Effect.Effect<never, StorageError | CorruptionError> => {
  let s = deps.initial
  let nextId = 1
  const pendingProposals = new Map<number, PendingProposal>()
  const pendingReads = new Map<number, (outcome: Either.Either<number, RequestFailure>) => void>()
  const pendingConf = new Map<number, Extract<ReplicaInput, { _tag: "confChange" }>>()
  const maxInputs = deps.maxInputsPerCycle ?? 1024
  const hardSync = new HardStateSync(s.term, s.vote)
  /** Cycles submitted to the committer and not yet completed, oldest first. */
  const inFlight: InFlight[] = []
  /** Set by the first failed write: the replica stops with it (see the end). */
  const storageFailed = Deferred.unsafeMake<never, StorageError | CorruptionError>(FiberId.none)
  /**
   * In-flight cycles whose committed entries wait for their completion. A received snapshot is
   * installed only once durable; entries committed after it must reach the apply loop after the
   * install, so every later cycle defers its entries too until that backlog is handed over.
   */
  let deferredApplies = 0
  let lastLeader = deps.view.status.leader

  /** Set when the core reports that this replica lost durable state (see `Ready.logLost`). */
  let logLost: LogLost | null = null
  const stepCore = (input: Input): Ready => {
    const [next, ready] = step(s, input)
    s = next
    if (ready.logLost !== undefined) logLost ??= ready.logLost
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
      case "durable":
        return { type: "persisted", index: input.index, term: input.term }
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

  /** The cycle's messages by peer, split now (the role may change before they are sent). */
  const partition = (readys: readonly Ready[]) => {
    const early = new Map<string, Message[]>()
    const late = new Map<string, Message[]>()
    for (const r of readys) {
      for (const m of r.messages) {
        const byPeer = isEarly(m) ? early : late
        const list = byPeer.get(m.to)
        if (list === undefined) byPeer.set(m.to, [m])
        else list.push(m)
      }
    }
    return { early, late }
  }

  const send = (byPeer: ReadonlyMap<string, Message[]>): void => {
    for (const [to, msgs] of byPeer) deps.transport.sendRaftNow(to, msgs)
  }

  /** Log lines of the cycle being handled (leader changes), written once it is done. */
  const cycleLogs: Effect.Effect<void>[] = []

  /** Before durability: register proposal outcomes and hand committed entries to the apply loop. */
  const beforePersist = (r: Ready, deferApply: boolean): void => {
    if (r.entries.length > 0) deps.intents?.observe(r.entries)
    // Counted when stepped: the published view moves on before this Ready is durable.
    if (r.softState !== null && r.softState.leader !== lastLeader) {
      deps.view.leaderChanges++
      deps.metrics?.leaderChanged(lastLeader, r.softState.leader)
      lastLeader = r.softState.leader
      cycleLogs.push(
        Effect.logInfo(lastLeader === null ? "leader lost" : `leader is ${lastLeader}`).pipe(
          Effect.annotateLogs({ group: deps.group, term: r.softState.term, role: r.softState.role }),
        ),
      )
    }
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
      else failProposal(pending.done, new NotLeader({ leader: p.leader }))
    }
    // Committed entries are durable on a quorum already: applying them may overlap with this
    // node's own fsync (as etcd does). A received snapshot is installed only once durable.
    if (!deferApply && r.committedEntries.length > 0) {
      deps.applyQueue.unsafeOffer({ _tag: "entries", entries: r.committedEntries })
    }
  }

  /**
   * Read states need no local durability: the index is a commit index a quorum proved, and the
   * read is served only once the state machine has applied it (etcd hands them out before its
   * WAL save too). Answering them at once keeps reads off the fsync queue.
   */
  const resolveReads = (r: Ready): void => {
    for (const rs of r.readStates) {
      const done = pendingReads.get(rs.id)
      if (done === undefined) continue
      pendingReads.delete(rs.id)
      if (rs.kind === "ready") done(Either.right(rs.index))
      else done(Either.left(new ReadUnavailable({ reason: rs.reason })))
    }
  }

  /** After durability: install a received snapshot (and the entries after it). The queue is unbounded. */
  const afterPersist = (r: Ready, deferApply: boolean): void => {
    if (r.snapshot !== null) deps.applyQueue.unsafeOffer({ _tag: "install", snapshot: r.snapshot })
    if (deferApply && r.committedEntries.length > 0) {
      deps.applyQueue.unsafeOffer({ _tag: "entries", entries: r.committedEntries })
    }
  }

  const hasWork = (r: Ready): boolean =>
    needsPersist(r) ||
    r.messages.length > 0 ||
    r.committedEntries.length > 0 ||
    r.readStates.length > 0 ||
    r.proposals.length > 0 ||
    r.softState !== null

  /** Steps 1 (and the early sends) for one cycle; `completeDurable` does the rest once durable. */
  const process = (readys: readonly Ready[]): void => {
    const batch = readys.filter(hasWork)
    const reports = pendingSnapshotReports.splice(0)
    if (batch.length === 0) {
      for (const done of reports) Deferred.unsafeDone(done, Effect.succeed(snapshotReport()))
      return
    }
    const deferApply = deferredApplies > 0 || batch.some((r) => r.snapshot !== null)
    if (deferApply) deferredApplies++
    for (const r of batch) {
      beforePersist(r, deferApply)
      resolveReads(r)
    }
    const { early, late } = partition(batch)
    send(early)
    const wroteLog = batch.some((r) => r.entries.length > 0 || r.snapshot !== null || r.truncateFrom !== null)
    const persisted = wroteLog ? { index: lastIndexOf(s), term: lastTermOf(s) } : null
    const f: InFlight = { readys: batch, durable: false, late, persisted, deferApply, reports }
    inFlight.push(f)
    submitAll(deps.committer, hardSync.toPersist(batch), deps.group, (failure) => {
      if (failure !== null) {
        stop(Effect.fail(failure))
        return
      }
      f.durable = true
      completeDurable()
    })
  }

  /** Steps 2-4 of each cycle whose Readys are durable, in submission order (a plain call). */
  const completeDurable = (): void => {
    while (inFlight.length > 0 && inFlight[0]!.durable) {
      const f = inFlight.shift()!
      send(f.late)
      for (const r of f.readys) afterPersist(r, f.deferApply)
      if (f.deferApply) deferredApplies--
      for (const done of f.reports) Deferred.unsafeDone(done, Effect.succeed(snapshotReport()))
      if (f.persisted !== null) notifyDurable(f.persisted)
    }
  }

  /** The `durable` input, into the bounded mailbox; if it is full, a fiber waits for room. */
  const notifyDurable = (at: { readonly index: number; readonly term: number }): void => {
    const input: ReplicaInput = { _tag: "durable", ...at }
    if (!deps.mailbox.unsafeOffer(input)) Effect.runFork(deps.mailbox.offer(input))
  }

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

  /** Effects the plain cycles hand to the replica's fiber: log lines, and cycles with a snapshot. */
  const fiberWork = Effect.runSync(Queue.unbounded<Effect.Effect<void, StorageError | CorruptionError>>())
  /** Stops the replica with `error` (a lost log, a failed write, a defect in a plain cycle). */
  let stopped = false
  const stop = (exit: Effect.Effect<never, StorageError | CorruptionError>): void => {
    stopped = true
    Deferred.unsafeDone(storageFailed, exit)
  }

  /** The end of a cycle: publish the view, then hand its log lines to the fiber (or stop on a lost log). */
  const endCycle = (): void => {
    if (logLost !== null) {
      stop(Effect.fail(logLostError(s.id, deps.group, logLost)))
      return
    }
    const leaderBefore = deps.view.status.leader
    deps.view.status = status(s)
    if (deps.view.status.leader !== leaderBefore) deps.view.leaderChanged.fire()
    deps.view.cycles++
    if (cycleLogs.length > 0)
      fiberWork.unsafeOffer(Effect.forEach(cycleLogs.splice(0), (log) => log, { discard: true }))
  }

  /** A cycle holding a snapshot the apply loop took: persisting it is an Effect (and rare). */
  const cycleWithSnapshot = (inputs: Iterable<ReplicaInput>) =>
    Effect.gen(function* () {
      let readys: Ready[] = []
      for (const input of inputs) {
        if (input._tag === "snapshotTaken") {
          process(readys)
          const taken = yield* snapshotTaken(input)
          readys = taken === null ? [] : [taken]
          continue
        }
        const core = toCore(input)
        if (core !== null) readys.push(stepCore(core))
      }
      process(readys)
      endCycle()
    })

  /** While the fiber runs a cycle with a snapshot, the plain cycles wait for it. */
  let paused = false

  // Every other cycle is plain code, run by the mailbox in a microtask after inputs arrive: a
  // cycle runs per message, so a fiber wake-up or an Effect operation in it would be paid
  // hundreds of times a second.
  const cycle = (): void => {
    if (stopped || paused) return
    const inputs = deps.mailbox.take(maxInputs)
    if (inputs.length === 0) return
    try {
      if (inputs.some((input) => input._tag === "snapshotTaken")) {
        paused = true
        const resume = Effect.sync(() => {
          paused = false
          deps.mailbox.kick()
        })
        fiberWork.unsafeOffer(Effect.ensuring(cycleWithSnapshot(inputs), resume))
        return
      }
      const readys: Ready[] = []
      for (const input of inputs) {
        const core = toCore(input)
        if (core !== null) readys.push(stepCore(core))
      }
      process(readys)
      endCycle()
    } catch (defect) {
      stop(Effect.die(defect))
    }
  }

  const failPending = Effect.sync(() => {
    const error = new ReplicaStopped({ reason: `group ${deps.group}: replica stopped` })
    for (const p of pendingProposals.values()) failProposal(p.done, error)
    for (const done of pendingReads.values()) done(Either.left(error))
    for (const c of pendingConf.values()) Deferred.unsafeDone(c.outcome, Effect.fail(error))
    for (const d of pendingSnapshotReports.splice(0)) Deferred.unsafeDone(d, Effect.fail(error))
    for (const f of inFlight.splice(0)) for (const d of f.reports) Deferred.unsafeDone(d, Effect.fail(error))
    pendingConf.clear()
    pendingProposals.clear()
    pendingReads.clear()
  })

  const detach = Effect.sync(() => {
    stopped = true
    deps.mailbox.setConsumer(null)
  })
  return Effect.suspend(() => {
    deps.mailbox.setConsumer(cycle)
    return Effect.raceFirst(
      repeatForever(Effect.flatten(Queue.take(fiberWork))),
      Deferred.await(storageFailed),
    )
  }).pipe(Effect.ensuring(Effect.zipRight(detach, failPending)))
}

/**
 * A replica whose log ends before what the leader knows it acknowledged lost its data directory
 * (wiped, replaced, restored from an old copy). Quarantined: it must not vote or count towards a
 * quorum under its old identity, or acknowledged writes could be lost.
 */
const logLostError = (self: string, group: GroupId, lost: LogLost): CorruptionError =>
  new CorruptionError({
    file: "raft.db",
    what: "Raft log (lost)",
    group,
    index: lost.lastIndex,
    message:
      `node ${self} lost its Raft log for group ${group}: the leader ${lost.leader} knows it durably stored entries up to index ${lost.acknowledged}, ` +
      `but its log ends at ${lost.lastIndex} (the data directory was wiped or replaced). Rejoining under its old identity could lose acknowledged writes, so it takes no part. ` +
      `To bring it back: lattice admin remove-node ${self}, stop it and clear its data directory, start it with --join, then lattice admin add-node ${self}.`,
  })
