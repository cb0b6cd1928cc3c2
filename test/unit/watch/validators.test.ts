import { describe, expect, test } from "bun:test"
import {
  type CommittedEvent,
  checkWatch,
  concatRuns,
  type Observation,
  type ObservedEvent,
  type WatchRun,
} from "../../support/watch-validators.ts"

// rev 2: put a=1; rev 3: put b=1; rev 4: put a=2, put c=1 (one txn); rev 5: delete a; rev 6: put x=9
const history: CommittedEvent[] = [
  { revision: 2, type: "put", key: "a", value: "1" },
  { revision: 3, type: "put", key: "b", value: "1" },
  { revision: 4, type: "put", key: "a", value: "2" },
  { revision: 4, type: "put", key: "c", value: "1" },
  { revision: 5, type: "delete", key: "a", value: "" },
  { revision: 6, type: "put", key: "x", value: "9" },
]

const ev = (type: "put" | "delete", key: string, value: string, rev: number, prev?: [string, number]) =>
  ({
    type,
    key,
    value,
    modRevision: rev,
    ...(prev ? { prevKv: { value: prev[0], modRevision: prev[1] } } : {}),
  }) satisfies ObservedEvent
const events = (revision: number, ...list: ObservedEvent[]): Observation => ({
  kind: "events",
  revision,
  events: list,
})

const spec = { key: "a", rangeEnd: "d", startRevision: 2, prevKv: true }
const good: Observation[] = [
  events(3, ev("put", "a", "1", 2), ev("put", "b", "1", 3)),
  events(4, ev("put", "a", "2", 4, ["1", 2]), ev("put", "c", "1", 4)),
  { kind: "progress", revision: 4 },
  events(5, ev("delete", "a", "", 5, ["2", 4])),
]
const run = (observations: Observation[], extra: Partial<WatchRun> = {}): WatchRun => ({
  spec,
  observations,
  ...extra,
})

describe("watch validators", () => {
  test("a correct run passes every check", () => {
    expect(checkWatch(history, run(good), {})).toEqual([])
    expect(checkWatch(history, run(good, { reachedRevision: 6 }))).toEqual([])
  })

  test("ordered: an older revision after a newer one is caught", () => {
    const v = checkWatch(history, run([good[1]!, good[0]!, good[3]!]))
    expect(v.some((s) => s.startsWith("ordered:"))).toBe(true)
  })

  test("unique: an event delivered twice is caught", () => {
    const v = checkWatch(history, run([...good, events(5, ev("delete", "a", "", 5, ["2", 4]))]))
    expect(v).toEqual(['unique: delete a=""@5 delivered twice', "atomic: revision 5 split across responses"])
  })

  test("atomic: a revision split over two responses is caught, fragments are not", () => {
    const split = [
      good[0]!,
      events(4, ev("put", "a", "2", 4, ["1", 2])),
      events(4, ev("put", "c", "1", 4)),
      good[3]!,
    ]
    expect(checkWatch(history, run(split))).toEqual(["atomic: revision 4 split across responses"])
    const fragmented: Observation[] = [
      good[0]!,
      { kind: "events", revision: 4, events: [ev("put", "a", "2", 4, ["1", 2])], fragment: true },
      events(4, ev("put", "c", "1", 4)),
      good[3]!,
    ]
    expect(checkWatch(history, run(fragmented))).toEqual([])
  })

  test("reliable: a gap, a foreign event or a wrong value is caught; so is stopping short of reachedRevision", () => {
    expect(checkWatch(history, run([good[0]!, good[3]!]))).toContain('reliable: missing put a="2"@4')
    const foreign = run([...good, events(6, ev("put", "x", "9", 6))])
    expect(checkWatch(history, foreign)).toContain('reliable: put x="9"@6 was never committed for this watch')
    const wrong = run([events(3, ev("put", "a", "7", 2), ev("put", "b", "1", 3))])
    expect(checkWatch(history, wrong)).toContain('reliable: missing put a="1"@2')
    expect(checkWatch(history, run(good.slice(0, 2), { reachedRevision: 5 }))).toContain(
      'reliable: missing delete a=""@5',
    )
  })

  test("bookmarkable: a progress notification before a matching event it covers is caught", () => {
    const early: Observation[] = [good[0]!, { kind: "progress", revision: 4 }, good[1]!, good[3]!]
    expect(checkWatch(history, run(early))).toEqual([
      'bookmarkable: progress at 4 before put a="2"@4',
      'bookmarkable: progress at 4 before put c="1"@4',
    ])
  })

  test("prev_kv: missing, wrong, or on a create is caught; a compacted revision - 1 owes none", () => {
    const missing = run([good[0]!, events(4, ev("put", "a", "2", 4), ev("put", "c", "1", 4)), good[3]!])
    expect(checkWatch(history, missing)).toEqual(['prev_kv: put a="2"@4 lacks its previous version'])
    expect(checkWatch(history, missing, { compactRevision: 4 })).toEqual([])
    const wrong = run([
      good[0]!,
      events(4, ev("put", "a", "2", 4, ["1", 3]), ev("put", "c", "1", 4)),
      good[3]!,
    ])
    expect(checkWatch(history, wrong)).toEqual(['prev_kv: put a="2"@4 carries "1"@3, expected "1"@2'])
    const onCreate = run([
      events(3, ev("put", "a", "1", 2, ["0", 1]), ev("put", "b", "1", 3)),
      good[1]!,
      good[3]!,
    ])
    expect(checkWatch(history, onCreate)).toEqual([
      'prev_kv: put a="1"@2 is a create but carries a previous version',
    ])
  })

  test("resumable: a resume must start right after the last delivered revision and continue exactly", () => {
    const first = run(good.slice(0, 2))
    const ok = concatRuns(first, { spec: { ...spec, startRevision: 5 }, observations: [good[3]!] })
    expect(ok.violations).toEqual([])
    expect(checkWatch(history, ok.run)).toEqual([])
    const late = concatRuns(first, { spec: { ...spec, startRevision: 6 }, observations: [] })
    expect(late.violations).toEqual(["resumable: resumed at 6, expected 5"])
    expect(checkWatch(history, { ...late.run, reachedRevision: 6 })).toContain(
      'reliable: missing delete a=""@5',
    )
    const early = concatRuns(first, {
      spec: { ...spec, startRevision: 4 },
      observations: [good[1]!, good[3]!],
    })
    expect(early.violations).toEqual(["resumable: resumed at 4, expected 5"])
    expect(checkWatch(history, early.run).some((s) => s.startsWith("unique:"))).toBe(true)
  })

  test("filters: NOPUT / NODELETE runs are judged against the filtered history", () => {
    const noDelete = { ...spec, noDelete: true }
    expect(
      checkWatch(history, { spec: noDelete, observations: good.slice(0, 2), reachedRevision: 6 }),
    ).toEqual([])
    expect(checkWatch(history, { spec: noDelete, observations: good })).toContain(
      'reliable: delete a=""@5 was never committed for this watch',
    )
  })
})
