/**
 * Decides which Readys need an fsync. A Ready whose only durable content is a new commit index
 * (term and vote unchanged, no entries, truncation, snapshot or compaction) does not: Raft's
 * safety never depends on a durable commit index (a restarted node learns it again from the
 * leader), so etcd's `MustSync` skips the fsync too. The newest such hard state is carried into
 * the next Ready that is written anyway, so the stored commit index only ever moves forward.
 */
import type { HardState, NodeId } from "../schemas/raft.ts"
import type { Ready } from "../src/raft/api.ts"
import { needsPersist } from "./persist-all.ts"

export class HardStateSync {
  private deferred: HardState | null = null

  constructor(
    private durableTerm: number,
    private durableVote: NodeId | null,
  ) {}

  /** The Readys to write now, with any deferred commit index folded into the first of them. */
  toPersist(readys: readonly Ready[]): Ready[] {
    const out: Ready[] = []
    for (const r of readys) {
      if (!needsPersist(r)) continue
      const hs = r.hardState
      const commitOnly =
        hs !== null &&
        r.entries.length === 0 &&
        r.truncateFrom === null &&
        r.snapshot === null &&
        r.compactTo === null &&
        hs.term === this.durableTerm &&
        hs.vote === this.durableVote
      if (commitOnly) {
        this.deferred = hs
        continue
      }
      if (hs !== null) {
        this.durableTerm = hs.term
        this.durableVote = hs.vote
        this.deferred = null
        out.push(r)
      } else if (this.deferred !== null) {
        out.push({ ...r, hardState: this.deferred })
        this.deferred = null
      } else {
        out.push(r)
      }
    }
    return out
  }
}
