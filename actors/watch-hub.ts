/**
 * WatchHub: the watch engine of one Raft group on one node (leader, follower or learner alike:
 * each serves watches from its own applied state).
 *
 * Like etcd's watchableStore, a watcher is either
 *  - synced: it gets live events as the apply loop reports them (`applied`), matched through a
 *    KeyMatcher (exact keys, prefixes, other ranges), or
 *  - unsynced: it is behind (a start revision in the past, a slow client, a snapshot install, a
 *    replica restart) and catches up from the MVCC store in bounded pages, then joins the synced
 *    ones exactly where the live stream is (`liveRev`), so no event is missed or repeated.
 *
 * Backpressure: `applied` only appends to a bounded pending list and wakes the delivery fiber,
 * so the apply loop never waits. When a watcher's stream holds `maxBacklog` unsent responses,
 * it stops getting live events and becomes unsynced; it catches up from storage once its stream
 * drained below `resumeBacklog`. When the pending list itself overflows (the delivery fiber is
 * behind), every watcher catches up from storage. Memory is bounded either way, and one slow
 * watcher never stalls the others.
 *
 * Invariant: every event with a revision <= `liveRev` was handed to every synced watcher it
 * matched; an unsynced watcher got every matching event below its `nextRev`.
 */
import { Duration, Effect, Queue, Schedule, type Scope } from "effect"
import type { GroupId } from "../schemas/raft.ts"
import { compareBytes } from "../src/kv/bytes.ts"
import type { KvStateMachine } from "../src/kv/state-machine.ts"
import type { KeySpan } from "../src/kv/store.ts"
import { isCreate, type WatchEvent } from "../src/kv/watch/event.ts"
import { HistoryReader } from "../src/kv/watch/history.ts"
import { KeyMatcher } from "../src/kv/watch/key-matcher.ts"
import type { KvEvent } from "../src/kv/write-txn.ts"

/** Where a watcher's responses go (one client stream may carry many watchers). */
export interface WatchHubSink {
  /**
   * Events of one or more whole revisions, in revision order. Every matching event with a
   * revision <= `revision` has now been delivered.
   */
  events(revision: number, events: readonly WatchEvent[]): void
  /** The start revision (or the catch-up point) is below the compaction floor: the watch ends. */
  compacted(compactRevision: number): void
  /** Periodic progress (watches created with progressNotify): everything <= revision was delivered. */
  progress(revision: number): void
  /** The hub ended the watch (for example a drain); the reason says what the client should do. */
  cancelled(reason: string): void
  /** Responses queued for the client and not yet sent. */
  backlog(): number
}

export interface HubWatchSpec {
  readonly tenant: string
  readonly span: KeySpan
  /** First revision to deliver. */
  readonly startRevision: number
  readonly prevKv: boolean
  readonly progressNotify: boolean
}

export interface HubWatch {
  cancel(): void
  /** Every event of this watch with a revision <= the result was delivered (a bookmark). */
  progressRevision(): number
}

export interface WatchHubOptions {
  readonly group: GroupId
  /** The group's state machine right now (it changes when the replica restarts). */
  readonly source: () => KvStateMachine | undefined
  /** Unsent responses in a watcher's stream above which it stops getting live events. */
  readonly maxBacklog?: number
  /** Unsent responses below which a lagging watcher catches up again. */
  readonly resumeBacklog?: number
  /** Rows read from storage per catch-up page. */
  readonly pageRows?: number
  /** Applied events not yet matched above which every watcher catches up from storage. */
  readonly maxPendingEvents?: number
  readonly syncIntervalMs?: number
  /** etcd's progressReportInterval: 10 minutes. */
  readonly progressIntervalMs?: number
}

export interface WatchHubStats {
  readonly watchers: number
  readonly synced: number
  readonly unsynced: number
  readonly pendingEvents: number
  /** Times a watcher fell behind and was moved to catch-up from storage. */
  readonly demotions: number
  /** Times every watcher had to catch up (pending overflow, snapshot install, missed revisions). */
  readonly resets: number
  readonly liveRevision: number | undefined
}

interface Watcher {
  readonly tenant: string
  readonly span: KeySpan
  readonly prevKv: boolean
  readonly progressNotify: boolean
  readonly sink: WatchHubSink
  synced: boolean
  /** Synced: the first revision it wants (above liveRev for a future start); unsynced: next to read. */
  nextRev: number
  done: boolean
}

interface PendingRevision {
  readonly revision: number
  readonly events: readonly KvEvent[]
}

export const DEFAULT_PROGRESS_INTERVAL_MS = 10 * 60 * 1000

export class WatchHub {
  readonly group: GroupId
  private readonly source: () => KvStateMachine | undefined
  private readonly maxBacklog: number
  private readonly resumeBacklog: number
  private readonly pageRows: number
  private readonly maxPendingEvents: number
  readonly syncIntervalMs: number
  readonly progressIntervalMs: number

  private readonly matchers = new Map<string, KeyMatcher<Watcher>>()
  private readonly unsynced = new Set<Watcher>()
  private readonly progressWatchers = new Set<Watcher>()
  private syncedCount = 0
  private pending: PendingRevision[] = []
  private pendingEvents = 0
  private liveRev: number | undefined
  private refusal: string | undefined
  private demotions = 0
  private resets = 0
  private readonly tenantNames = new Map<number, string>()
  private readers = new WeakMap<KvStateMachine, HistoryReader>()

  /** A hub with its wake-up signals; fork `run` to start its fibers. */
  static make(options: WatchHubOptions): Effect.Effect<WatchHub> {
    return Effect.map(
      Effect.all([Queue.dropping<true>(1), Queue.dropping<true>(1)]),
      ([deliver, sync]) => new WatchHub(options, deliver, sync),
    )
  }

  private constructor(
    options: WatchHubOptions,
    /** Wakes the delivery fiber (capacity 1: a pending wake-up covers any number of applies). */
    private readonly deliverSignal: Queue.Queue<true>,
    /** Wakes the catch-up fiber before its next periodic round. */
    private readonly syncSignal: Queue.Queue<true>,
  ) {
    this.group = options.group
    this.source = options.source
    this.maxBacklog = options.maxBacklog ?? 1000
    this.resumeBacklog = options.resumeBacklog ?? Math.max(1, Math.floor(this.maxBacklog / 4))
    this.pageRows = options.pageRows ?? 1000
    this.maxPendingEvents = options.maxPendingEvents ?? 100_000
    this.syncIntervalMs = options.syncIntervalMs ?? 100
    this.progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS
  }

  stats(): WatchHubStats {
    return {
      watchers: this.syncedCount + this.unsynced.size,
      synced: this.syncedCount,
      unsynced: this.unsynced.size,
      pendingEvents: this.pendingEvents,
      demotions: this.demotions,
      resets: this.resets,
      liveRevision: this.liveRev,
    }
  }

  // --- called by the apply loop (synchronous, never blocks) ---

  /** The entry just applied changed the store to `revision` with `events`. */
  applied(revision: number, events: readonly KvEvent[]): void {
    if (events.length === 0) return
    const expected = this.expectedRevision()
    if (expected === undefined || (this.syncedCount === 0 && this.pending.length === 0)) {
      // Nobody to tell live: whoever comes later reads this from storage.
      this.liveRev = revision
      return
    }
    if (revision <= expected) return
    if (revision !== expected + 1) {
      this.reset(revision)
      return
    }
    this.pending.push({ revision, events })
    this.pendingEvents += events.length
    if (this.pendingEvents > this.maxPendingEvents) this.reset(revision)
    else this.deliverSignal.unsafeOffer(true)
  }

  /** The store was replaced (a snapshot install): every watcher re-syncs from storage. */
  restored(revision: number): void {
    this.reset(revision)
  }

  // --- called by adapters ---

  watch(spec: HubWatchSpec, sink: WatchHubSink): HubWatch {
    const w: Watcher = {
      tenant: spec.tenant,
      span: spec.span,
      prevKv: spec.prevKv,
      progressNotify: spec.progressNotify,
      sink,
      synced: false,
      nextRev: Math.max(1, spec.startRevision),
      done: false,
    }
    if (this.refusal !== undefined) {
      w.done = true
      sink.cancelled(this.refusal)
      return { cancel: () => {}, progressRevision: () => 0 }
    }
    if (w.progressNotify) this.progressWatchers.add(w)
    const live = this.currentLive()
    if (live !== undefined && w.nextRev > live) this.addSynced(w)
    else {
      this.unsynced.add(w)
      this.syncSignal.unsafeOffer(true)
    }
    return {
      cancel: () => this.remove(w),
      progressRevision: () => (w.synced ? Math.max(0, this.liveRev ?? 0) : w.nextRev - 1),
    }
  }

  /**
   * Ends every watch with `reason` (what the drain workflow calls: the etcd adapter turns it into
   * an UNAVAILABLE stream error, on which etcd clients reconnect to another member and resume).
   * With `refuseNew`, watches created afterwards end at once with the same reason.
   */
  cancelAll(reason: string, options: { readonly refuseNew?: boolean } = {}): number {
    if (options.refuseNew === true) this.refusal = reason
    const all = [...this.unsynced]
    for (const m of this.matchers.values()) for (const w of m.all()) all.push(w)
    for (const w of all) {
      this.remove(w)
      w.sink.cancelled(reason)
    }
    return all.length
  }

  /** Accepts new watches again after `cancelAll(…, { refuseNew: true })`. */
  acceptNew(): void {
    this.refusal = undefined
  }

  /** The delivery, catch-up and progress fibers; runs until its scope closes. */
  readonly run: Effect.Effect<void, never, Scope.Scope> = Effect.gen(this, function* () {
    yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(Queue.take(this.deliverSignal), this.deliverPending())),
    )
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.zipRight(
          Queue.take(this.syncSignal).pipe(
            Effect.timeout(Duration.millis(this.syncIntervalMs)),
            Effect.ignore,
          ),
          this.catchUp(),
        ),
      ),
    )
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.sync(() => this.notifyProgress()),
        Schedule.spaced(Duration.millis(this.progressIntervalMs)),
      ),
    )
  })

  // --- internals ---

  private expectedRevision(): number | undefined {
    const last = this.pending[this.pending.length - 1]
    return last !== undefined ? last.revision : this.liveRev
  }

  /** liveRev, learnt from the state machine when nothing was applied yet since start. */
  private currentLive(): number | undefined {
    if (this.liveRev === undefined) {
      const sm = this.source()
      if (sm !== undefined) this.liveRev = sm.revision
    }
    return this.liveRev
  }

  /** Everything above liveRev that synced watchers did not get yet is re-read from storage. */
  private reset(revision: number): void {
    this.resets++
    const from = (this.liveRev ?? 0) + 1
    for (const m of this.matchers.values()) {
      for (const w of [...m.all()]) this.demote(w, Math.max(w.nextRev, from))
    }
    this.pending = []
    this.pendingEvents = 0
    this.liveRev = revision
    this.tenantNames.clear()
    this.readers = new WeakMap()
    this.syncSignal.unsafeOffer(true)
  }

  private addSynced(w: Watcher): void {
    let m = this.matchers.get(w.tenant)
    if (m === undefined) {
      m = new KeyMatcher<Watcher>()
      this.matchers.set(w.tenant, m)
    }
    m.add(w)
    w.synced = true
    this.syncedCount++
  }

  private removeSynced(w: Watcher): void {
    const m = this.matchers.get(w.tenant)
    if (m?.delete(w)) {
      this.syncedCount--
      if (m.size === 0) this.matchers.delete(w.tenant)
    }
    w.synced = false
  }

  private demote(w: Watcher, nextRev: number): void {
    this.removeSynced(w)
    w.nextRev = nextRev
    this.unsynced.add(w)
  }

  private remove(w: Watcher): void {
    if (w.done) return
    w.done = true
    if (w.synced) this.removeSynced(w)
    this.unsynced.delete(w)
    this.progressWatchers.delete(w)
  }

  private reader(sm: KvStateMachine): HistoryReader {
    let r = this.readers.get(sm)
    if (r === undefined) {
      r = new HistoryReader(sm.db, sm.tables, sm)
      this.readers.set(sm, r)
    }
    return r
  }

  private tenantName(id: number): string | undefined {
    const known = this.tenantNames.get(id)
    if (known !== undefined) return known
    const sm = this.source()
    const name = sm === undefined ? undefined : this.reader(sm).tenantName(id)
    if (name !== undefined) this.tenantNames.set(id, name)
    return name
  }

  private deliverPending(): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      let work = 0
      while (this.pending.length > 0) {
        const next = this.pending.shift()!
        this.pendingEvents -= next.events.length
        work += this.deliverRevision(next)
        this.liveRev = next.revision
        // Let the apply loop and the clients' streams run between large fan-outs.
        if (work >= 10_000) {
          work = 0
          yield* Effect.yieldNow()
        }
      }
    })
  }

  /** Hands one revision's events to the synced watchers they match; returns the work done. */
  private deliverRevision(p: PendingRevision): number {
    const compactRev = this.source()?.compactRevision ?? -1
    const prevReadable = p.revision - 1 >= compactRev
    const events =
      p.events.length > 1 ? [...p.events].sort((a, b) => compareBytes(a.kv.key, b.kv.key)) : p.events
    let work = 0
    if (events.length === 1) {
      // The common case: one event, one shared array per variant, no per-watcher allocation.
      const e = events[0]!
      const m = this.matcherOf(e)
      if (m === undefined) return 1
      const plain = [toPlain(e)]
      const withPrev = [toWithPrev(e, prevReadable)]
      m.forEachMatch(e.kv.key, (w) => {
        work++
        if (w.nextRev > p.revision) return
        this.send(w, p.revision, w.prevKv ? withPrev : plain)
      })
      return work + 1
    }
    const per = new Map<Watcher, WatchEvent[]>()
    for (const e of events) {
      const m = this.matcherOf(e)
      if (m === undefined) continue
      let plain: WatchEvent | undefined
      let withPrev: WatchEvent | undefined
      m.forEachMatch(e.kv.key, (w) => {
        work++
        if (w.nextRev > p.revision) return
        let list = per.get(w)
        if (list === undefined) {
          list = []
          per.set(w, list)
        }
        if (w.prevKv) list.push((withPrev ??= toWithPrev(e, prevReadable)))
        else list.push((plain ??= toPlain(e)))
      })
    }
    for (const [w, list] of per) this.send(w, p.revision, list)
    return work + events.length
  }

  private matcherOf(e: KvEvent): KeyMatcher<Watcher> | undefined {
    const name = this.tenantName(e.tenant)
    return name === undefined ? undefined : this.matchers.get(name)
  }

  private send(w: Watcher, revision: number, events: readonly WatchEvent[]): void {
    if (w.done || !w.synced) return
    if (w.sink.backlog() >= this.maxBacklog) {
      // The client is not keeping up: stop pushing, catch up from storage once it drained.
      this.demotions++
      this.demote(w, revision)
      this.syncSignal.unsafeOffer(true)
      return
    }
    w.sink.events(revision, events)
  }

  /** One round of catch-up for every unsynced watcher whose stream has room. */
  private catchUp(): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      const sm = this.source()
      if (sm === undefined) return
      // The store moved without us being told (a restart between an apply and its report).
      const expected = this.expectedRevision()
      if (expected === undefined) this.liveRev = sm.revision
      else if (sm.revision > expected) this.reset(sm.revision)
      let work = 0
      for (const w of [...this.unsynced]) {
        work += this.catchUpOne(w)
        if (work >= this.pageRows * 4) {
          work = 0
          yield* Effect.yieldNow()
          if (this.source() !== sm) return
        }
      }
    })
  }

  private catchUpOne(w: Watcher): number {
    const sm = this.source()
    if (sm === undefined || w.done) return 0
    const reader = this.reader(sm)
    let work = 1
    let budget = this.pageRows * 4
    while (budget > 0) {
      const live = this.liveRev ?? sm.revision
      if (w.nextRev > live) {
        this.unsynced.delete(w)
        this.addSynced(w)
        return work
      }
      if (w.nextRev < sm.compactRevision) {
        this.remove(w)
        w.sink.compacted(sm.compactRevision)
        return work
      }
      if (w.sink.backlog() >= this.resumeBacklog) return work
      const tenant = reader.tenantId(w.tenant)
      if (tenant === undefined) {
        // The tenant never wrote: nothing to replay.
        w.nextRev = live + 1
        continue
      }
      const page = reader.page(
        tenant,
        w.span,
        w.nextRev,
        live,
        this.pageRows,
        w.prevKv ? { compactRev: sm.compactRevision } : undefined,
      )
      if (page.events.length > 0) w.sink.events(page.through, page.events)
      w.nextRev = page.through + 1
      work += page.events.length + 1
      budget -= page.events.length + 1
    }
    return work
  }

  private notifyProgress(): void {
    const live = this.liveRev
    if (live === undefined) return
    for (const w of this.progressWatchers) if (w.synced && !w.done) w.sink.progress(live)
  }
}

const toPlain = (e: KvEvent): WatchEvent => ({ type: e.type, kv: e.kv })

const toWithPrev = (e: KvEvent, prevReadable: boolean): WatchEvent => {
  const plain = toPlain(e)
  if (!prevReadable || e.prevKv === undefined || isCreate(plain)) return plain
  return { type: e.type, kv: e.kv, prevKv: e.prevKv }
}
