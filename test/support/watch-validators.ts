/**
 * Watch validators: check what one watcher observed against the committed history.
 *
 *  - ordered: event revisions never go backwards;
 *  - unique: no (revision, key) event is delivered twice;
 *  - atomic: a revision's events arrive in one response (fragments of one response merged);
 *  - reliable: every committed event the watch matches, from its start up to the last revision it
 *    is known to have reached, was delivered, and nothing else was (values included);
 *  - resumable: a second watch started at the first one's last revision + 1 continues exactly
 *    (check it by validating the two runs as one with `concatRuns`);
 *  - bookmarkable: a progress notification at revision P comes after every matching event <= P;
 *  - prev_kv: each non-create event carries the key's live version at revision - 1 (when asked
 *    and not compacted), a create carries none.
 *
 * Data is plain (strings for keys and values) so the simulator, the etcd gRPC client and the NATS
 * client all feed the same checks. Each check returns violations as readable strings.
 */

/** One change of the committed history (every replica applies the same sequence). */
export interface CommittedEvent {
  readonly revision: number
  readonly type: "put" | "delete"
  readonly key: string
  /** Empty for a delete. */
  readonly value: string
}

export interface ObservedEvent {
  readonly type: "put" | "delete"
  readonly key: string
  readonly value: string
  readonly modRevision: number
  readonly prevKv?: { readonly value: string; readonly modRevision: number }
}

export type Observation =
  | {
      readonly kind: "events"
      /** The response header's revision. */
      readonly revision: number
      readonly events: readonly ObservedEvent[]
      /** More fragments of the same response follow. */
      readonly fragment?: boolean
    }
  | { readonly kind: "progress"; readonly revision: number }
  | { readonly kind: "compacted"; readonly compactRevision: number }

export interface WatchRunSpec {
  readonly key: string
  /** undefined: the key alone; "": every key >= key; otherwise [key, rangeEnd). */
  readonly rangeEnd?: string
  readonly startRevision: number
  readonly prevKv?: boolean
  readonly noPut?: boolean
  readonly noDelete?: boolean
}

export interface WatchRun {
  readonly spec: WatchRunSpec
  readonly observations: readonly Observation[]
  /**
   * The watch is known to have received everything up to this revision (for example a later
   * write it saw, or the end of a test that waited for it). Default: the last event it received.
   */
  readonly reachedRevision?: number
}

export interface ValidatorOptions {
  /** History below this revision is compacted: no prev_kv is owed for revision - 1 below it. */
  readonly compactRevision?: number
}

const matches = (spec: WatchRunSpec, key: string): boolean => {
  if (spec.rangeEnd === undefined) return key === spec.key
  if (key < spec.key) return false
  return spec.rangeEnd === "" || key < spec.rangeEnd
}

const wanted = (spec: WatchRunSpec, e: CommittedEvent): boolean =>
  matches(spec, e.key) &&
  e.revision >= spec.startRevision &&
  (e.type === "put" ? spec.noPut !== true : spec.noDelete !== true)

const describe = (e: { type: string; key: string; value: string }, rev: number) =>
  `${e.type} ${e.key}=${JSON.stringify(e.value)}@${rev}`

/** Responses with fragments merged back into one. */
const responses = (run: WatchRun): { revision: number; events: ObservedEvent[]; index: number }[] => {
  const out: { revision: number; events: ObservedEvent[]; index: number }[] = []
  let open: { revision: number; events: ObservedEvent[]; index: number } | undefined
  run.observations.forEach((o, index) => {
    if (o.kind !== "events") return
    if (open === undefined) open = { revision: o.revision, events: [], index }
    open.events.push(...o.events)
    if (o.fragment !== true) {
      out.push(open)
      open = undefined
    }
  })
  if (open !== undefined) out.push(open)
  return out
}

const delivered = (run: WatchRun): ObservedEvent[] => responses(run).flatMap((r) => r.events)

export const checkOrdered = (run: WatchRun): string[] => {
  const out: string[] = []
  let last = 0
  for (const e of delivered(run)) {
    if (e.modRevision < last) out.push(`ordered: ${describe(e, e.modRevision)} after revision ${last}`)
    last = Math.max(last, e.modRevision)
  }
  return out
}

export const checkUnique = (run: WatchRun): string[] => {
  const seen = new Set<string>()
  const out: string[] = []
  for (const e of delivered(run)) {
    const id = `${e.modRevision}/${e.key}`
    if (seen.has(id)) out.push(`unique: ${describe(e, e.modRevision)} delivered twice`)
    seen.add(id)
  }
  return out
}

export const checkAtomic = (run: WatchRun): string[] => {
  const where = new Map<number, number>()
  const out: string[] = []
  responses(run).forEach((r, i) => {
    for (const rev of new Set(r.events.map((e) => e.modRevision))) {
      const first = where.get(rev)
      if (first !== undefined && first !== i) out.push(`atomic: revision ${rev} split across responses`)
      where.set(rev, i)
    }
  })
  return out
}

export const checkReliable = (history: readonly CommittedEvent[], run: WatchRun): string[] => {
  const got = delivered(run)
  const reached = run.reachedRevision ?? got.reduce((m, e) => Math.max(m, e.modRevision), 0)
  const expected = history.filter((e) => wanted(run.spec, e) && e.revision <= reached)
  const key = (e: { type: string; key: string; value: string }, rev: number) => describe(e, rev)
  const gotSet = new Set(got.map((e) => key(e, e.modRevision)))
  const expectedSet = new Set(expected.map((e) => key(e, e.revision)))
  const out: string[] = []
  for (const e of expected) {
    const id = key(e, e.revision)
    if (!gotSet.has(id)) out.push(`reliable: missing ${id}`)
  }
  for (const e of got) {
    const id = key(e, e.modRevision)
    if (!expectedSet.has(id)) out.push(`reliable: ${id} was never committed for this watch`)
  }
  return out
}

export const checkBookmarks = (history: readonly CommittedEvent[], run: WatchRun): string[] => {
  const out: string[] = []
  const seen = new Set<string>()
  for (const o of run.observations) {
    if (o.kind === "events") for (const e of o.events) seen.add(describe(e, e.modRevision))
    if (o.kind !== "progress") continue
    for (const e of history) {
      if (e.revision > o.revision || !wanted(run.spec, e)) continue
      if (!seen.has(describe(e, e.revision)))
        out.push(`bookmarkable: progress at ${o.revision} before ${describe(e, e.revision)}`)
    }
  }
  return out
}

export const checkPrevKv = (
  history: readonly CommittedEvent[],
  run: WatchRun,
  options: ValidatorOptions = {},
): string[] => {
  if (run.spec.prevKv !== true) return []
  // The live version of each key before each revision, replayed from the history.
  const before = new Map<string, { value: string; modRevision: number } | undefined>()
  const live = new Map<string, { value: string; modRevision: number }>()
  const sorted = [...history].sort((a, b) => a.revision - b.revision)
  for (const e of sorted) {
    before.set(`${e.revision}/${e.key}`, live.get(e.key))
    if (e.type === "put") live.set(e.key, { value: e.value, modRevision: e.revision })
    else live.delete(e.key)
  }
  const out: string[] = []
  const floor = options.compactRevision ?? 0
  for (const e of delivered(run)) {
    const prev = before.get(`${e.modRevision}/${e.key}`)
    const id = describe(e, e.modRevision)
    if (prev === undefined) {
      if (e.prevKv !== undefined) out.push(`prev_kv: ${id} is a create but carries a previous version`)
      continue
    }
    if (e.prevKv === undefined) {
      if (e.modRevision - 1 >= floor) out.push(`prev_kv: ${id} lacks its previous version`)
      continue
    }
    if (e.prevKv.value !== prev.value || e.prevKv.modRevision !== prev.modRevision)
      out.push(
        `prev_kv: ${id} carries ${JSON.stringify(e.prevKv.value)}@${e.prevKv.modRevision}, expected ${JSON.stringify(prev.value)}@${prev.modRevision}`,
      )
  }
  return out
}

/** Every check at once. */
export const checkWatch = (
  history: readonly CommittedEvent[],
  run: WatchRun,
  options: ValidatorOptions = {},
): string[] => [
  ...checkOrdered(run),
  ...checkUnique(run),
  ...checkAtomic(run),
  ...checkReliable(history, run),
  ...checkBookmarks(history, run),
  ...checkPrevKv(history, run, options),
]

/**
 * A watch resumed after `first` ended (a reconnect): validate the result as one run. The second
 * must start at the first's last delivered revision + 1 (or its own start when it got nothing).
 */
export const concatRuns = (first: WatchRun, second: WatchRun): { run: WatchRun; violations: string[] } => {
  const last = delivered(first).reduce((m, e) => Math.max(m, e.modRevision), first.spec.startRevision - 1)
  const violations =
    second.spec.startRevision === last + 1
      ? []
      : [`resumable: resumed at ${second.spec.startRevision}, expected ${last + 1}`]
  return {
    run: {
      spec: first.spec,
      observations: [...first.observations, ...second.observations],
      ...(second.reachedRevision === undefined ? {} : { reachedRevision: second.reachedRevision }),
    },
    violations,
  }
}
