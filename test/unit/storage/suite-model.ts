/**
 * Randomized model test: seeded random sequences of Readys (appends, truncations, term
 * changes, compactions, snapshots, reopenings) against a plain in-memory model of the log.
 * After every step, `load` must equal the model. Scale with LATTICE_STORAGE_MODEL_STEPS/SEEDS.
 */
import assert from "node:assert/strict"
import type { ConfState, Entry, HardState, SnapshotMeta } from "../../../schemas/raft.ts"
import type { ReadyToPersist } from "../../../src/storage/log-store.ts"
import { type Harness, mulberry32, openStore, seededBytes, withDb } from "./harness.ts"
import { ready } from "./suite-log.ts"

interface Model {
  floor: { index: number; term: number }
  entries: Entry[]
  hardState: HardState
  snapshot: { meta: SnapshotMeta; data: Uint8Array } | null
  term: number
}

const conf: ConfState = { voters: ["n1", "n2", "n3"], learners: [], votersOutgoing: [] }

const lastIndex = (m: Model): number => m.entries.at(-1)?.index ?? m.floor.index

const applyModel = (m: Model, r: ReadyToPersist): void => {
  if (r.snapshot !== null) {
    const { meta, data } = r.snapshot
    m.snapshot = { meta, data }
    if (meta.index > m.floor.index) {
      const at = m.entries.find((e) => e.index === meta.index)
      m.entries =
        at !== undefined && at.term === meta.term ? m.entries.filter((e) => e.index > meta.index) : []
      m.floor = { index: meta.index, term: meta.term }
    }
  }
  if (r.truncateFrom !== null) m.entries = m.entries.filter((e) => e.index < r.truncateFrom!)
  if (r.entries.length > 0) {
    const first = r.entries[0]!.index
    m.entries = [...m.entries.filter((e) => e.index < first), ...r.entries]
  }
  if (r.compactTo !== null && r.compactTo > m.floor.index) {
    const term = m.entries.find((e) => e.index === r.compactTo)!.term
    m.entries = m.entries.filter((e) => e.index > r.compactTo!)
    m.floor = { index: r.compactTo, term }
  }
  if (r.hardState !== null) m.hardState = r.hardState
}

/** A random Ready that respects Raft's rules (terms never go down, commit within the log). */
const randomReady = (m: Model, rnd: () => number, step: number): ReadyToPersist => {
  const pick = rnd() % 100
  const last = lastIndex(m)
  const makeEntries = (from: number, n: number): Entry[] =>
    Array.from({ length: n }, (_, i) => ({
      index: from + i,
      term: m.term,
      type: rnd() % 10 === 0 ? "noop" : "normal",
      data: seededBytes(step * 1000 + i, rnd() % 300),
    }))
  if (pick < 45) return ready({ entries: makeEntries(last + 1, 1 + (rnd() % 20)) })
  if (pick < 60) {
    // a new leader's entries replace a suffix (explicitly or implicitly)
    m.term++
    const from = m.floor.index + 1 + (rnd() % (last - m.floor.index + 1))
    const explicit = rnd() % 2 === 0
    return ready({
      hardState: {
        term: m.term,
        vote: `n${1 + (rnd() % 3)}`,
        commit: Math.min(m.hardState.commit, from - 1),
      },
      truncateFrom: explicit ? from : null,
      entries: makeEntries(from, rnd() % 5 === 0 && explicit ? 0 : 1 + (rnd() % 5)),
    })
  }
  if (pick < 75) return ready({ hardState: { ...m.hardState, term: m.term, commit: last } })
  if (pick < 85 && last > m.floor.index) {
    return ready({ compactTo: m.floor.index + 1 + (rnd() % (last - m.floor.index)) })
  }
  if (pick < 92) {
    const index = Math.max(m.snapshot?.meta.index ?? 0, m.floor.index) + 1 + (rnd() % 8)
    const existing = m.entries.find((e) => e.index === index)
    const term = existing !== undefined && rnd() % 3 !== 0 ? existing.term : ++m.term
    return ready({
      snapshot: { meta: { index, term, conf }, data: seededBytes(step, rnd() % 3000) },
      hardState: { term: m.term, vote: null, commit: index },
    })
  }
  return ready({}) // an empty Ready is fine too
}

export const modelSuite = (h: Harness): void => {
  const { driver, test } = h
  test(
    `${driver.name}: random Ready sequences agree with an in-memory model of the log (${h.modelSeeds} seeds x ${h.modelSteps} steps)`,
    () =>
      withDb(driver, ({ open }) => {
        for (let seed = 1; seed <= h.modelSeeds; seed++) {
          const rnd = mulberry32(seed)
          let db = open()
          let store = openStore(db, { snapshotChunkBytes: 512 })
          const groups = [seed * 10, seed * 10 + 1]
          const models = new Map<number, Model>(
            groups.map((g) => [
              g,
              {
                floor: { index: 0, term: 0 },
                entries: [],
                hardState: { term: 0, vote: null, commit: 0 },
                snapshot: null,
                term: 1,
              },
            ]),
          )
          for (let step = 0; step < h.modelSteps; step++) {
            const g = groups[rnd() % groups.length]!
            const m = models.get(g)!
            const r = randomReady(m, rnd, step)
            store.persistReady(g, r)
            applyModel(m, r)
            if (rnd() % 25 === 0) {
              db.close()
              db = open()
              store = openStore(db, { snapshotChunkBytes: 512 })
            }
            const loaded = store.load(g)
            const where = `seed ${seed} step ${step} group ${g}`
            assert.deepEqual(loaded.floor, m.floor, where)
            assert.deepEqual(loaded.hardState, m.hardState, where)
            assert.deepEqual(loaded.entries, m.entries, where)
            assert.deepEqual(loaded.snapshot, m.snapshot, where)
          }
          store.verify()
          db.close()
        }
      }),
    120_000,
  )
}
