/**
 * A running node: its storage (one `raft.db` holding every group's Raft log, one `kv-<group>.db`
 * per group), the NodeSupervisor with its groups' actors, the forwarding service, and the
 * request paths the adapters use:
 *  - `write`: propose on the leader, or forward to it (Transport request-reply) from a follower;
 *    retried only while the command was certainly not proposed (no leader yet, leader moved);
 *  - `barrier`: a linearizable read's ReadIndex wait; the read is then served locally.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import {
  Clock,
  Duration,
  Effect,
  Either,
  FiberRef,
  FiberRefs,
  LogLevel,
  Runtime,
  Schedule,
  type Scope,
} from "effect"
import type { RequestFailure } from "../../actors/errors.ts"
import { NotLeader, ReadUnavailable, ReplicaStopped } from "../../actors/errors.ts"
import type { GroupHandle, GroupSettings } from "../../actors/group.ts"
import {
  type NodeSupervisor,
  type SupervisorEvent,
  startNodeSupervisor,
} from "../../actors/node-supervisor.ts"
import { WatchHub } from "../../actors/watch-hub.ts"
import type { KvCommand, KvOutcome } from "../../schemas/kv.ts"
import type { ConfChange, GroupId, NodeId } from "../../schemas/raft.ts"
import { encodeCommand } from "../kv/codec.ts"
import { KV_DB_FORMAT } from "../kv/format.ts"
import { NodeMetrics } from "../metrics/node-metrics.ts"
import { observeNode } from "../metrics/observe-node.ts"
import type { Message } from "../raft/messages.ts"
import type { SqliteDatabase } from "../storage/driver.ts"
import { ensureFormat } from "../storage/format-version.ts"
import { GroupCommitter } from "../storage/group-commit.ts"
import { LogStore } from "../storage/log-store.ts"
import { BunSqliteDriverLive, openDatabase, StorageError } from "../storage/service.ts"
import { walSyncer } from "../storage/wal-sync.ts"
import type { TransportShape } from "../transport/transport.ts"
import { boundedBy, Deadlines } from "./deadlines.ts"
import { type DivergenceChecker, startDivergenceChecker } from "./divergence-check.ts"
import {
  decodeForwardReply,
  decodeForwardRequest,
  encodeForwardFailure,
  encodeForwardOk,
  encodeForwardRequest,
  FORWARD_SERVICE,
} from "./forward.ts"
import { PeerLiveness } from "./liveness.ts"
import { serveLogMaintenance } from "./log-maintenance.ts"
import { changeMembership, type MembershipFailure, serveConfChanges } from "./membership.ts"
import type { NodeOptions } from "./options.ts"
import { ReadCoalescer } from "./read-coalescer.ts"
import { runOrThrow } from "./run-or-throw.ts"
import { checkpointOffThread } from "./wal-checkpointer.ts"

/** The group holding the KV data for now (keys are not yet sharded over many groups). */
export const KV_GROUP: GroupId = 1

export class RequestTimedOut extends Error {
  override readonly name = "RequestTimedOut"
  readonly _tag = "RequestTimedOut"
}

export type WriteFailure = RequestFailure | RequestTimedOut

export interface LatticeNode {
  readonly options: NodeOptions
  readonly supervisor: NodeSupervisor
  readonly transport: TransportShape
  readonly group: (group?: GroupId) => GroupHandle | undefined
  /** `requestId` (a client's x-request-id, else one is made when forwarding) follows the write into the leader's logs. */
  readonly write: (
    command: KvCommand,
    group?: GroupId,
    requestId?: string,
  ) => Effect.Effect<KvOutcome | null, WriteFailure>
  /**
   * `write` without a fiber, for request handlers: when this node leads the group, proposes at
   * once and settles with the outcome. Null when it does not lead (or cannot queue now): use
   * `write`, which forwards and retries. A `NotLeader` rejection means nothing was proposed.
   */
  readonly writeNow: (command: KvCommand, group?: GroupId) => Promise<KvOutcome | null> | null
  readonly barrier: (group?: GroupId) => Effect.Effect<GroupHandle, RequestFailure | RequestTimedOut>
  /**
   * The same barrier for request handlers: concurrent reads share one ReadIndex round
   * (read-coalescer.ts); rejects with the barrier's RequestFailure.
   */
  readonly linearizableRead: (group?: GroupId) => Promise<GroupHandle>
  /** A membership change through the group's leader (forwarded from a follower); see membership.ts. */
  readonly changeMembership: (change: ConfChange, group?: GroupId) => Effect.Effect<void, MembershipFailure>
  readonly events: readonly SupervisorEvent[]
  readonly kvDbPath: (group: GroupId) => string
  /** The node's Raft log store (all groups), for admin tools and fault-injection tests. */
  readonly logStore: LogStore
  /** This node's Prometheus registry and metrics (src/metrics/); features register theirs here. */
  readonly metrics: NodeMetrics
  /** Which peers this node hears from, and followers' lag in seconds (leader). */
  readonly liveness: PeerLiveness
  /** A group's watch engine (it outlives replica restarts); `cancelAll` is what a drain calls. */
  readonly watchHub: (group?: GroupId) => WatchHub | undefined
  /** The periodic KV-hash comparison with the other members (divergence-check.ts). */
  readonly divergence: DivergenceChecker
}

const settingsOf = (o: NodeOptions): GroupSettings => ({
  self: o.nodeId,
  // A joining node (`--join`) bootstraps with the cluster's voters, never itself: it never
  // campaigns and waits for the leader (`lattice admin add-node`) to replicate to it.
  bootstrap: {
    voters: o.join === true ? o.members.filter((m) => m !== o.nodeId) : [...o.members],
    learners: [],
    votersOutgoing: [],
  },
  tickMs: o.tickMs,
  raft: {
    electionTicks: o.electionTicks,
    ...(o.electionJitterTicks === undefined ? {} : { electionJitterTicks: o.electionJitterTicks }),
    heartbeatTicks: o.heartbeatTicks,
    preVote: o.preVote,
    checkQuorum: o.checkQuorum,
    maxEntriesPerAppend: o.maxEntriesPerAppend,
    maxInflightAppends: o.maxInflight,
  },
  batchSize: o.batchSize,
  batchTimeoutMs: o.batchTimeoutMs,
  readTimeoutMs: o.requestTimeoutMs,
  snapshotInterval: o.snapshotInterval,
  keepEntries: o.keepEntries,
  keyCacheSize: o.keyCacheSize ?? 0,
  mailboxCapacity: o.mailboxCapacity,
  leaseTickMs: o.leaseTickMs,
})

/** A barrier failure that another attempt may get past (a leader may appear); a timeout is final. */
const retriableRead = (f: RequestFailure): boolean =>
  f._tag === "ReplicaStopped" ||
  f._tag === "NotLeader" ||
  (f._tag === "ReadUnavailable" && f.reason !== "timeout")

const seedOf = (text: string): number => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h | 0
}

/** The transport the replicas send through, counting heartbeats and replication messages. */
const countRaftTraffic = (transport: TransportShape, metrics: NodeMetrics): TransportShape => {
  const count = (messages: readonly Message[]) => {
    for (const m of messages) {
      if (m.type === "heartbeat") metrics.group(m.group).heartbeatsSent.inc()
      else if (m.type === "snapshot" || (m.type === "append" && m.entries.length > 0))
        metrics.group(m.group).replications.inc()
    }
  }
  return {
    ...transport,
    sendRaft: (to, messages) => {
      count(messages)
      return transport.sendRaft(to, messages)
    },
    sendRaftNow: (to, messages) => {
      count(messages)
      transport.sendRaftNow(to, messages)
    },
  }
}

export const startNode = (
  options: NodeOptions,
  transport: TransportShape,
  report: (event: SupervisorEvent) => void = () => {},
): Effect.Effect<LatticeNode, StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    mkdirSync(options.dataDir, { recursive: true })
    const groups = [KV_GROUP]
    // A durable log (sync_on_write) is fsynced off the JS thread: SQLite commits at
    // synchronous=NORMAL and the committer acknowledges a Ready only after an fdatasync of the
    // WAL that covers it (wal-sync.ts), so stepping, receiving and applying go on meanwhile.
    // Without sync_on_write (NORMAL or OFF) the database runs as configured and nothing is synced.
    const durable = options.synchronous === "FULL" || options.synchronous === "EXTRA"
    const raftPath = join(options.dataDir, "raft.db")
    const raftMode = durable ? "NORMAL" : options.synchronous
    const raftDb = yield* openDatabase(raftPath, { synchronous: raftMode })
    // WAL checkpoints run on a worker thread, not at some COMMIT on this one (wal-checkpointer.ts).
    const startRuntime = yield* Effect.runtime<never>()
    const checkpointElsewhere = (db: SqliteDatabase, mode: string) =>
      Effect.acquireRelease(
        Effect.sync(() =>
          checkpointOffThread(
            db,
            mode,
            (reason) =>
              Runtime.runFork(startRuntime)(
                Effect.logWarning(`${db.path}: checkpoints back on the main thread (${reason})`),
              ),
            options.walCheckpointBytes,
          ),
        ),
        (release) => Effect.promise(release).pipe(Effect.timeout(Duration.seconds(5)), Effect.ignore),
      )
    yield* checkpointElsewhere(raftDb, raftMode)
    // The on-disk format: an older file is migrated, one from a newer lattice is refused.
    const store = yield* Effect.try({
      try: () => LogStore.open(raftDb),
      catch: (e) =>
        new StorageError({ file: raftDb.path, message: e instanceof Error ? e.message : String(e) }),
    })
    const metrics = new NodeMetrics(options.nodeId)
    const liveness = new PeerLiveness(options.nodeId, options.electionTicks * options.tickMs)
    const syncer = durable
      ? yield* Effect.acquireRelease(
          Effect.sync(() => walSyncer(raftPath)),
          (w) => Effect.sync(() => w.close()),
        )
      : null
    const committer = new GroupCommitter(store, {
      observe: (seconds) => {
        metrics.walWrites.inc()
        metrics.walWriteSeconds.observe(seconds)
      },
      ...(syncer === null ? {} : { sync: syncer.sync }),
    })
    const kvDbPath = (group: GroupId) => join(options.dataDir, `kv-${group}.db`)
    const kvDbs = new Map<GroupId, import("../storage/driver.ts").SqliteDatabase>()
    // The Raft log (raft.db, fsynced before any acknowledgement) is the durability point. The state machine
    // may lag it after a power loss: it re-applies from the log (the apply loop skips what it has)
    // or restores from the durable snapshot in raft.db, so its own commits need no fsync each.
    const kvOpen = { synchronous: options.synchronous === "OFF" ? ("OFF" as const) : ("NORMAL" as const) }
    for (const g of groups) {
      const db = yield* openDatabase(kvDbPath(g), kvOpen)
      yield* Effect.try({
        try: () => ensureFormat(db, KV_DB_FORMAT),
        catch: (e) =>
          new StorageError({ file: db.path, message: e instanceof Error ? e.message : String(e) }),
      })
      kvDbs.set(g, db)
      yield* checkpointElsewhere(db, kvOpen.synchronous)
    }
    // Automatic snapshots are read through their own connection, in the background (apply-loop.ts).
    const snapshotReaders = new Map<GroupId, import("../storage/driver.ts").SqliteDatabase>()
    for (const g of groups)
      snapshotReaders.set(g, yield* openDatabase(kvDbPath(g), { ...kvOpen, readonly: true }))
    const settings = settingsOf(options)
    const hubs = new Map<GroupId, WatchHub>()
    for (const g of groups) {
      hubs.set(
        g,
        yield* WatchHub.make({
          group: g,
          source: () => supervisor.handle(g)?.sm,
          progressIntervalMs: options.watchProgressIntervalMs,
        }),
      )
    }
    const events: SupervisorEvent[] = []
    // Supervisor events arrive in plain callbacks: logged through this node's runtime (logger, annotations).
    const runtime = yield* Effect.runtime<never>()
    const countedTransport = countRaftTraffic(transport, metrics)
    const supervisor = yield* startNodeSupervisor({
      groups,
      transport,
      received: (messages, now) => {
        liveness.received(messages, now)
        for (const m of messages) if (m.type === "heartbeat") metrics.group(m.group).heartbeatsReceived.inc()
      },
      report: (e) => {
        events.push(e)
        report(e)
        const h = e.health
        const text =
          h.state === "running" ? `group running (restarts ${h.restarts})` : `group ${h.state}: ${h.reason}`
        const log =
          h.state === "running"
            ? Effect.logInfo(text)
            : h.state === "restarting"
              ? Effect.logWarning(text)
              : Effect.logError(text)
        Runtime.runFork(runtime)(log.pipe(Effect.annotateLogs({ group: e.group })))
      },
      depsFor: (group, restart) => ({
        group,
        settings,
        store,
        committer,
        kvDb: kvDbs.get(group)!,
        kvSnapshotReader: snapshotReaders.get(group)!,
        transport: countedTransport,
        metrics: metrics.group(group),
        seed: seedOf(`${options.nodeId}/${group}/${restart}`),
        changes: hubs.get(group),
      }),
    })
    for (const hub of hubs.values()) yield* hub.run
    const group = (g: GroupId = KV_GROUP) => supervisor.handle(g)

    // One node timer, every tick (at most 50 ms): what the liveness view (metrics, /v1/status)
    // knows of followers' progress, and the write deadlines (one check per tick instead of a
    // timer fiber per write, deadlines.ts). One timer rather than two: wake-ups are dear here.
    const deadlines = new Deadlines(yield* Clock.currentTimeMillis)
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          deadlines.expire(now)
          const statuses = []
          for (const g of groups) {
            const h = group(g)
            if (h !== undefined) statuses.push(h.view.status)
          }
          liveness.sample(now, statuses)
        }),
        Schedule.spaced(Duration.millis(Math.max(1, Math.min(options.tickMs, 50)))),
      ),
    )

    // Writes and forwarded requests run on other fibers (an adapter's, the transport's): their
    // logs go through this node's runtime, so its logger, level and `node` annotation apply.
    const nodeLog = (log: Effect.Effect<void>) => Effect.sync(() => Runtime.runFork(runtime)(log))
    // Per-request debug lines fork a fiber each: skipped outright below the debug level.
    const debugEnabled = LogLevel.greaterThanEqual(
      LogLevel.Debug,
      FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentMinimumLogLevel),
    )
    const nodeDebug = (log: Effect.Effect<void>) => (debugEnabled ? nodeLog(log) : Effect.void)

    // The leader side of forwarding: propose locally, never forward again.
    yield* transport
      .serve(FORWARD_SERVICE, (payload, from) =>
        Effect.gen(function* () {
          const req = decodeForwardRequest(payload)
          const h = supervisor.handle(req.group)
          if (h === undefined)
            return encodeForwardFailure(new ReplicaStopped({ reason: "group not running" }))
          const st = h.view.status
          if (st.role !== "leader") return encodeForwardFailure(new NotLeader({ leader: st.leader }))
          yield* nodeDebug(
            Effect.logDebug("forwarded write: proposing").pipe(
              Effect.annotateLogs({ group: req.group, term: st.term, request_id: req.requestId ?? "", from }),
            ),
          )
          return yield* h.propose(req.data).pipe(
            Effect.tapError((f) =>
              nodeLog(
                Effect.logWarning(`forwarded write failed: ${f._tag}`).pipe(
                  Effect.annotateLogs({
                    group: req.group,
                    term: st.term,
                    request_id: req.requestId ?? "",
                    from,
                  }),
                ),
              ),
            ),
            Effect.match({
              onSuccess: (r) => encodeForwardOk(r === null ? null : r.outcome),
              onFailure: encodeForwardFailure,
            }),
          )
        }),
      )
      .pipe(Effect.orDie)

    yield* serveConfChanges(transport, supervisor.handle).pipe(Effect.orDie)
    yield* serveLogMaintenance(transport, { group, logStore: store, options }).pipe(Effect.orDie)

    // Hashing for the divergence check reads its own connection, in its own read transactions.
    const hashDbs = new Map<GroupId, import("../storage/driver.ts").SqliteDatabase>()
    for (const g of groups) hashDbs.set(g, yield* openDatabase(kvDbPath(g), { ...kvOpen, readonly: true }))
    const divergence = yield* startDivergenceChecker({
      nodeId: options.nodeId,
      dataDir: options.dataDir,
      transport,
      groups,
      membersOf: (g) => {
        const conf = group(g)?.view.status.conf
        return conf === undefined ? null : [...new Set([...conf.voters, ...conf.learners])]
      },
      hashDb: (g) => hashDbs.get(g)!,
      settle: (g) => {
        // A failed commit stops the group's apply loop on its next batch; the hash then reads what is on disk.
        try {
          group(g)?.sm.commitWindow()
        } catch {}
      },
      metrics,
      intervalMs: options.divergenceCheckIntervalMs ?? 0,
      requestTimeoutMs: options.requestTimeoutMs,
    })

    const retryMs = Math.max(5, options.tickMs)
    const retryDelay = Duration.millis(retryMs)
    // A write that found no usable leader waits for the replica to see a new one (woken by the
    // view's signal: no retry storm against a dead leader while the election runs), re-checking
    // at least every half election timeout in case the leader it tried was alive after all.
    const leaderWait = Duration.millis(Math.max(retryMs, (options.electionTicks * options.tickMs) / 2))
    const awaitLeaderChange = (h: GroupHandle, tried: NodeId | null) =>
      Effect.suspend(() => (h.view.status.leader !== tried ? Effect.void : h.view.leaderChanged.next)).pipe(
        Effect.timeout(leaderWait),
        Effect.ignore,
      )

    let requestSeq = 0
    const write = (command: KvCommand, g: GroupId = KV_GROUP, requestId?: string) =>
      Effect.gen(function* () {
        const data = encodeCommand(command)
        // Made only when the write leaves this node, so local writes cost nothing.
        let id = requestId
        const idForLogs = () => {
          id ??= `${options.nodeId}-${(++requestSeq).toString(36)}`
          return id
        }
        const start = yield* Clock.currentTimeMillis
        const deadline = start + options.requestTimeoutMs
        // Made only when needed: an error instance captures a stack, too dear for every write.
        let last: WriteFailure | null = null
        while (true) {
          const now = yield* Clock.currentTimeMillis
          if (now >= deadline) return yield* Effect.fail(last ?? new NotLeader({ leader: null }))
          const h = group(g)
          if (h === undefined) {
            last = new ReplicaStopped({ reason: `group ${g} is not running on ${options.nodeId}` })
            yield* Effect.sleep(retryDelay)
            continue
          }
          const leader = h.view.status.leader
          let attempt: Effect.Effect<KvOutcome | null, WriteFailure>
          if (leader !== null && leader !== options.nodeId) {
            attempt = forward(leader, g, data, deadline - now, idForLogs())
          } else {
            attempt = Effect.map(h.propose(data), (r) => (r === null ? null : r.outcome))
          }
          // Bounded: a proposal caught in a replica restart may never be answered.
          const result = yield* Effect.either(
            boundedBy(
              deadlines,
              deadline,
              attempt,
              () => new RequestTimedOut(`no answer within ${options.requestTimeoutMs} ms`),
            ),
          )
          if (result._tag === "Right") return result.right
          last = result.left
          // Retry only when the command was certainly not proposed anywhere (a replica that
          // stopped may already have appended it: its outcome is unknown).
          if (last._tag !== "NotLeader") {
            yield* nodeLog(
              Effect.logWarning(`write failed: ${last._tag}`).pipe(
                Effect.annotateLogs({ group: g, request_id: idForLogs(), term: h.view.status.term }),
              ),
            )
            return yield* Effect.fail(last)
          }
          yield* awaitLeaderChange(h, leader)
        }
      })

    // The fast path of a local write: no fiber per request (a fiber, the Effect path's fork for
    // its deadline and their scheduling were about a fifth of a leader's CPU per put).
    const writeNow: LatticeNode["writeNow"] = (command, g = KV_GROUP) => {
      const h = group(g)
      if (h === undefined || h.view.status.leader !== options.nodeId) return null
      let resolve: (outcome: KvOutcome | null) => void = () => {}
      let reject: (failure: WriteFailure) => void = () => {}
      const answered = new Promise<KvOutcome | null>((res, rej) => {
        resolve = res
        reject = rej
      })
      let cancel: (() => void) | null = null
      const done = h.proposeNow(encodeCommand(command), (outcome) => {
        if (outcome === null) return
        cancel?.()
        if (Either.isRight(outcome)) return resolve(outcome.right === null ? null : outcome.right.outcome)
        if (outcome.left._tag !== "NotLeader")
          Runtime.runFork(runtime)(
            Effect.logWarning(`write failed: ${outcome.left._tag}`).pipe(
              Effect.annotateLogs({ group: g, term: h.view.status.term }),
            ),
          )
        reject(outcome.left)
      })
      if (done === null) return null
      cancel = deadlines.addAfter(options.requestTimeoutMs, () => {
        done.abandon()
        reject(new RequestTimedOut(`no answer within ${options.requestTimeoutMs} ms`))
      })
      return answered
    }

    const forward = (
      leader: NodeId,
      g: GroupId,
      data: Uint8Array,
      budgetMs: number,
      requestId: string,
    ): Effect.Effect<KvOutcome | null, WriteFailure> =>
      nodeDebug(
        Effect.logDebug(`forwarding write to the leader ${leader}`).pipe(
          Effect.annotateLogs({ group: g, request_id: requestId }),
        ),
      )
        .pipe(
          Effect.zipRight(
            transport.request(
              leader,
              FORWARD_SERVICE,
              encodeForwardRequest(g, data, requestId),
              Duration.millis(budgetMs),
            ),
          ),
        )
        .pipe(
          Effect.mapError(
            (e): WriteFailure =>
              e._tag === "RequestTimeout" || e._tag === "RemoteHandlerFailed"
                ? new RequestTimedOut(`forwarding to ${leader}: ${e._tag}`)
                : new NotLeader({ leader: null }),
          ),
          Effect.flatMap((bytes) => {
            const reply = decodeForwardReply(bytes)
            if (reply.ok) return Effect.succeed(reply.outcome)
            const f = reply.failure
            // The leader we forwarded to knows better: never bounce between followers.
            return Effect.fail(f._tag === "NotLeader" ? new NotLeader({ leader: null }) : f)
          }),
        )

    /**
     * A linearizable read's barrier. While there is no leader to prove the read index it waits
     * (as etcd does) up to the request timeout, then fails closed (LIN-BOUND).
     */
    const barrierWithin = (g: GroupId, budgetMs: number, reads: number) =>
      Effect.gen(function* () {
        const gm = metrics.group(g)
        const deadline = (yield* Clock.currentTimeMillis) + budgetMs
        while (true) {
          const h = group(g)
          const result: Either.Either<GroupHandle, RequestFailure> =
            h === undefined
              ? Either.left(new ReplicaStopped({ reason: `group ${g} is not running` }))
              : yield* Effect.either(
                  Effect.as(h.readBarrier, h).pipe(
                    Effect.timeoutFail({
                      duration: Duration.millis(Math.max(1, deadline - (yield* Clock.currentTimeMillis))),
                      onTimeout: () => new ReadUnavailable({ reason: "timeout" }),
                    }),
                  ),
                )
          if (Either.isRight(result)) return result.right
          const f = result.left
          if (!retriableRead(f) || (yield* Clock.currentTimeMillis) + retryMs >= deadline) {
            gm.linBoundFailures.inc(reads)
            return yield* Effect.fail(f)
          }
          yield* Effect.sleep(retryDelay)
        }
      })

    const barrier = (g: GroupId = KV_GROUP) =>
      Effect.suspend(() => {
        metrics.group(g).linearizableReads.inc()
        return barrierWithin(g, options.requestTimeoutMs, 1)
      })

    /**
     * The coalesced reads' barrier without a fiber: one ReadIndex round through the group's
     * mailbox, bounded by the node's deadline check. What it cannot settle itself (the group not
     * running here, a full mailbox, a failure worth retrying) goes to `barrierWithin`, which
     * waits for a leader and retries within what is left of the budget.
     */
    const barrierNow = (g: GroupId, budgetMs: number, reads: number): Promise<GroupHandle> => {
      const gm = metrics.group(g)
      gm.linearizableReads.inc(reads)
      const started = performance.now()
      const slow = () =>
        runOrThrow(barrierWithin(g, Math.max(1, budgetMs - (performance.now() - started)), reads))
      const h = group(g)
      if (h === undefined) return slow()
      return new Promise<GroupHandle>((resolve, reject) => {
        let settled = false
        let cancel = () => {}
        const queued = h.readBarrierNow((failure) => {
          if (settled) return
          settled = true
          cancel()
          if (failure === null) resolve(h)
          else if (retriableRead(failure)) slow().then(resolve, reject)
          else {
            gm.linBoundFailures.inc(reads)
            reject(failure)
          }
        })
        if (!queued) {
          settled = true
          slow().then(resolve, reject)
          return
        }
        cancel = deadlines.addAfter(budgetMs, () => {
          if (settled) return
          settled = true
          gm.linBoundFailures.inc(reads)
          reject(new ReadUnavailable({ reason: "timeout" }))
        })
      })
    }

    // Concurrent linearizable reads share one barrier per round (read-coalescer.ts).
    const coalescers = new Map<GroupId, ReadCoalescer<GroupHandle>>()
    const linearizableRead = (g: GroupId = KV_GROUP): Promise<GroupHandle> => {
      let c = coalescers.get(g)
      if (c === undefined) {
        c = new ReadCoalescer((budgetMs, reads) => barrierNow(g, budgetMs, reads), options.requestTimeoutMs)
        coalescers.set(g, c)
      }
      return c.read()
    }

    const node = {
      options,
      supervisor,
      transport,
      group,
      write,
      writeNow,
      barrier,
      linearizableRead,
      changeMembership: (change, g = KV_GROUP) =>
        changeMembership(
          { self: options.nodeId, transport, group },
          change,
          g,
          options.requestTimeoutMs,
          retryMs,
        ),
      events,
      kvDbPath,
      logStore: store,
      metrics,
      liveness,
      watchHub: (g: GroupId = KV_GROUP) => hubs.get(g),
      divergence,
    } satisfies LatticeNode
    observeNode(metrics, node)
    return node
  }).pipe(
    Effect.provide(BunSqliteDriverLive),
    Effect.catchTag("StorageError", (e) => Effect.fail(e)),
  )
