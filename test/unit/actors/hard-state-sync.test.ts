import { describe, expect, test } from "bun:test"
import { HardStateSync } from "../../../actors/hard-state-sync.ts"
import type { Ready } from "../../../src/raft/api.ts"

const ready = (over: Partial<Ready>): Ready => ({
  hardState: null,
  truncateFrom: null,
  entries: [],
  snapshot: null,
  compactTo: null,
  messages: [],
  committedEntries: [],
  readStates: [],
  proposals: [],
  softState: null,
  ...over,
})
const entry = (index: number) => ({ index, term: 2, type: "normal" as const, data: new Uint8Array([index]) })

describe("HardStateSync", () => {
  test("a commit-only hard state needs no fsync of its own", () => {
    const sync = new HardStateSync(2, "n1")
    expect(sync.toPersist([ready({ hardState: { term: 2, vote: "n1", commit: 5 } })])).toEqual([])
  })

  test("the deferred commit index rides on the next Ready that is written", () => {
    const sync = new HardStateSync(2, "n1")
    sync.toPersist([ready({ hardState: { term: 2, vote: "n1", commit: 5 } })])
    const [written] = sync.toPersist([ready({ entries: [entry(6)] })])
    expect(written?.hardState).toEqual({ term: 2, vote: "n1", commit: 5 })
    // Once written, it is not carried again.
    const [next] = sync.toPersist([ready({ entries: [entry(7)] })])
    expect(next?.hardState).toBeNull()
  })

  test("a new term or vote is always written, with the newest commit index", () => {
    const sync = new HardStateSync(2, "n1")
    sync.toPersist([ready({ hardState: { term: 2, vote: "n1", commit: 5 } })])
    const vote = ready({ hardState: { term: 3, vote: "n2", commit: 6 } })
    expect(sync.toPersist([vote])).toEqual([vote])
    // The durable term/vote moved: a commit-only change in the new term is deferred again.
    expect(sync.toPersist([ready({ hardState: { term: 3, vote: "n2", commit: 7 } })])).toEqual([])
  })

  test("entries, truncation, snapshots and compaction are always written", () => {
    const sync = new HardStateSync(2, "n1")
    const hs = { term: 2, vote: "n1", commit: 5 }
    for (const r of [
      ready({ hardState: hs, entries: [entry(6)] }),
      ready({ hardState: hs, truncateFrom: 4 }),
      ready({ hardState: hs, compactTo: 3 }),
    ]) {
      expect(sync.toPersist([r])).toEqual([r])
    }
    expect(sync.toPersist([ready({ messages: [] })])).toEqual([])
  })
})
