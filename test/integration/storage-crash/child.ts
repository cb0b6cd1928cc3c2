/**
 * Crash-test child: appends entries to several Raft groups through the log store and the group
 * committer, as fast as it can, and prints `ack <group> <index>` only once the Ready holding
 * that index is durable. The parent kills it with SIGKILL at arbitrary points.
 *
 *   bun child.ts <db-path> <term> <seed> [--ack-early | --wal-sync]
 *
 * `--wal-sync` runs the store the way a node does: SQLite at synchronous=NORMAL, and the
 * committer acknowledging only after an fdatasync of the WAL off the JS thread (wal-sync.ts).
 *
 * Each run uses a higher term (written in the hard state). Now and then it compacts the log
 * and reclaims a few pages, so kills also land inside compaction and incremental vacuum.
 */
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import { GroupCommitter } from "../../../src/storage/group-commit.ts"
import { LogStore } from "../../../src/storage/log-store.ts"
import { walSyncer } from "../../../src/storage/wal-sync.ts"
import { mulberry32 } from "../../unit/storage/harness.ts"
import { entryData, GROUPS, SNAPSHOT_CHUNK_BYTES, snapshotData } from "./workload.ts"

const [path, termArg, seedArg, mode] = process.argv.slice(2)
// TEST ONLY: acknowledge before the Ready is durable, to prove the parent's check can fail.
const ackEarly = mode === "--ack-early"
const walSync = mode === "--wal-sync"
if (path === undefined || termArg === undefined || seedArg === undefined) {
  console.error("usage: child.ts <db-path> <term> <seed>")
  process.exit(2)
}
const term = Number(termArg)
const rnd = mulberry32(Number(seedArg))
const store = LogStore.open(bunSqliteDriver.open(path, { synchronous: walSync ? "NORMAL" : "FULL" }), {
  snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES,
})
const conf = { voters: ["n1"], learners: [], votersOutgoing: [] }
const committer = new GroupCommitter(store, walSync ? { sync: walSyncer(path).sync } : {})

const out = (line: string) => process.stdout.write(`${line}\n`)

for (const group of GROUPS) {
  const loaded = store.load(group) // verifies every checksum before anything new is written
  let next = (loaded.entries.at(-1)?.index ?? loaded.floor.index) + 1
  let durable = next - 1
  // Snapshots only move forward: never issue one at or below the last, nor stream one while a
  // snapshot Ready of this group is still queued (it would land after, and be older).
  let lastSnapshot = loaded.snapshot?.meta.index ?? 0
  let snapshotQueued = false
  out(`ready ${group} ${durable}`)
  // A few Readys in flight per group, so batches mix groups and proposals.
  const propose = (): void => {
    const count = 1 + (rnd() % 8)
    const entries = Array.from({ length: count }, (_, i) => ({
      index: next + i,
      term,
      type: "normal" as const,
      data: entryData(group, next + i),
    }))
    next += count
    const last = next - 1
    if (ackEarly) out(`ack ${group} ${last}`)
    const dice = rnd() % 100
    const compactTo = dice < 2 && durable > 200 ? durable - 100 : null
    // Snapshots, in the Ready (one transaction) or streamed (several), so kills land inside them.
    const snapAt =
      dice >= 2 && dice < 4 && durable - 20 > lastSnapshot && !snapshotQueued ? durable - 20 : null
    const snapTerm = snapAt === null ? null : store.term(group, snapAt)
    const snapshot =
      snapAt !== null && snapTerm !== null && dice === 2
        ? { meta: { index: snapAt, term: snapTerm, conf }, data: snapshotData(group, snapAt) }
        : null
    if (snapshot !== null) {
      snapshotQueued = true
      lastSnapshot = snapshot.meta.index
    }
    if (snapAt !== null && snapTerm !== null && dice === 3) {
      lastSnapshot = snapAt
      const writer = store.beginSnapshot(group, { index: snapAt, term: snapTerm, conf })
      const data = snapshotData(group, snapAt)
      for (let off = 0; off < data.length; off += 3000) writer.write(data.subarray(off, off + 3000))
      writer.commit()
    }
    committer.submitWith(
      group,
      {
        hardState: { term, vote: "n1", commit: durable },
        truncateFrom: null,
        entries,
        snapshot,
        compactTo,
      },
      (error) => {
        if (error !== null) {
          console.error(`persist failed: ${error.message}`)
          process.exit(1)
        }
        durable = last
        if (snapshot !== null) snapshotQueued = false
        if (!ackEarly) out(`ack ${group} ${last}`)
        if (compactTo !== null) store.reclaimSpace(8)
        propose()
      },
    )
  }
  for (let i = 0; i < 3; i++) propose()
}
