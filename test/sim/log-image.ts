/**
 * A node's log as the caller sees it: hard state, latest snapshot and the entries after it.
 *
 * The simulator keeps two images per node: the DURABLE one (what SQLite would hold; it survives a
 * crash) and the LIVE one (every Ready applied as soon as it is handed out, i.e. the core's own
 * view). Both are built by replaying Readies, so the simulator never peeks inside the core.
 */
import type { ConfState, Entry, HardState, Snapshot } from "../../schemas/raft.ts"
import { emptyHardState } from "../../schemas/raft.ts"
import type { PersistedState, Ready } from "../../src/raft/api.ts"

export class ContractError extends Error {}

export class LogImage {
  hardState: HardState = emptyHardState
  snapshot: Snapshot | null = null
  /** Contiguous entries; entries[0].index === floor + 1. May overlap the snapshot (kept entries). */
  entries: Entry[] = []
  /** Index and term just below the first entry (0/0, or a compaction point). */
  floor = 0
  floorTerm = 0

  constructor(readonly bootstrapConf: ConfState) {}

  get lastIndex(): number {
    return this.floor + this.entries.length
  }

  get lastTerm(): number {
    return this.termAt(this.lastIndex) ?? 0
  }

  /** The term at `index`, or undefined when it is compacted away or beyond the log. */
  termAt(index: number): number | undefined {
    if (index === this.floor) return this.floorTerm
    if (this.snapshot && index === this.snapshot.meta.index) return this.snapshot.meta.term
    return this.entries[index - this.floor - 1]?.term
  }

  entryAt(index: number): Entry | undefined {
    return index <= this.floor ? undefined : this.entries[index - this.floor - 1]
  }

  /** Apply the persistent part of a Ready, in the order the contract gives. */
  applyReady(ready: Ready): void {
    if (ready.hardState) this.hardState = ready.hardState
    if (ready.snapshot) this.installSnapshot(ready.snapshot)
    if (ready.truncateFrom !== null) {
      if (ready.truncateFrom <= this.floor)
        throw new ContractError(
          `truncateFrom ${ready.truncateFrom} is at or below the log floor ${this.floor}`,
        )
      this.entries.length = Math.min(this.entries.length, ready.truncateFrom - this.floor - 1)
    }
    if (ready.entries.length > 0) {
      const first = ready.entries[0]!.index
      if (first !== this.lastIndex + 1)
        throw new ContractError(
          `entries start at ${first} but the log ends at ${this.lastIndex} (truncateFrom=${ready.truncateFrom})`,
        )
      for (const e of ready.entries) this.entries.push(e)
    }
    if (ready.compactTo !== null) this.compact(ready.compactTo)
  }

  /** The state machine's own snapshot (snapshotTaken): made durable before the log is compacted. */
  saveLocalSnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index > (this.snapshot?.meta.index ?? 0)) this.snapshot = snapshot
  }

  private installSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta
    // Keep the suffix only if our log agrees with the snapshot at its index (Raft §7).
    this.entries = this.termAt(index) === term ? this.entries.filter((e) => e.index > index) : []
    this.snapshot = snapshot
    this.floor = index
    this.floorTerm = term
  }

  private compact(to: number): void {
    const target = Math.min(to, this.snapshot?.meta.index ?? 0, this.lastIndex)
    if (target <= this.floor) return
    const term = this.termAt(target)!
    this.entries = this.entries.slice(target - this.floor)
    this.floor = target
    this.floorTerm = term
  }

  toPersisted(): PersistedState {
    const snapIndex = this.snapshot?.meta.index ?? 0
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: this.entries.filter((e) => e.index > snapIndex),
      bootstrapConf: this.bootstrapConf,
    }
  }

  /** The image a restarted core rebuilds from: the log starts right after the snapshot. */
  reloaded(): LogImage {
    const copy = new LogImage(this.bootstrapConf)
    const p = this.toPersisted()
    copy.hardState = p.hardState
    copy.snapshot = p.snapshot
    copy.entries = [...p.entries]
    copy.floor = p.snapshot?.meta.index ?? 0
    copy.floorTerm = p.snapshot?.meta.term ?? 0
    return copy
  }
}
