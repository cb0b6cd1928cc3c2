/**
 * The Raft safety properties, checked incrementally after every simulator step. Each check is
 * fed by what the core hands out (Readies) and what the nodes apply, never by peeking inside the
 * core, so a violation is a real, externally visible one.
 */
import type { Entry, NodeId, Snapshot } from "../../schemas/raft.ts"
import type { LogImage } from "./log-image.ts"
import { entryFingerprint } from "./register-machine.ts"

export type InvariantName =
  | "electionSafety"
  | "logMatching"
  | "leaderCompleteness"
  | "stateMachineSafety"
  | "monotoneCommit"
  | "committedNotTruncated"
  | "snapshotAgreement"
  | "readyContract"
  | "liveness"
  | "linearizability"
  | "watch"
  | "lease"
  | "lock"

export class Violation extends Error {
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`)
  }
}

interface CommittedEntry {
  readonly term: number
  readonly fingerprint: string
  /** The term of the leader that first committed it (leader completeness is about later terms). */
  readonly commitTerm: number
}

export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>()
  /** (index, term) → content and previous term: unique by induction ⇔ the Log Matching property. */
  private readonly entryIdentity = new Map<string, { fingerprint: string; prevTerm: number }>()
  private readonly committed = new Map<number, CommittedEntry>()
  private readonly applied = new Map<number, { term: number; fingerprint: string; node: NodeId }>()
  private readonly snapshotHashes = new Map<number, { hash: string; node: NodeId }>()
  private readonly durableCommit = new Map<NodeId, number>()
  /** Highest index any node has applied: committed entries below it are all known. */
  maxApplied = 0

  leaderCount(): number {
    return this.leaderOfTerm.size
  }

  onLeader(node: NodeId, term: number, live: LogImage): void {
    const prior = this.leaderOfTerm.get(term)
    if (prior !== undefined && prior !== node)
      throw new Violation("electionSafety", `term ${term} has two leaders: ${prior} and ${node}`)
    this.leaderOfTerm.set(term, node)
    for (const [index, c] of this.committed) {
      if (c.commitTerm >= term || index <= live.floor) continue
      const have = live.termAt(index)
      if (have !== c.term)
        throw new Violation(
          "leaderCompleteness",
          `${node} became leader of term ${term} but holds term ${have ?? "none"} at index ${index}, ` +
            `committed with term ${c.term} in term ${c.commitTerm}`,
        )
    }
  }

  /** After `entries` were appended to `node`'s live log. */
  onAppend(node: NodeId, live: LogImage, entries: readonly Entry[]): void {
    for (const e of entries) {
      const prevTerm = live.termAt(e.index - 1) ?? -1
      const fingerprint = entryFingerprint(e)
      const key = `${e.index}:${e.term}`
      const known = this.entryIdentity.get(key)
      if (known === undefined) this.entryIdentity.set(key, { fingerprint, prevTerm })
      else if (known.fingerprint !== fingerprint || (known.prevTerm !== prevTerm && prevTerm !== -1))
        throw new Violation(
          "logMatching",
          `${node} holds a different entry at (index ${e.index}, term ${e.term}): ` +
            `content ${fingerprint} after term ${prevTerm}, elsewhere ${known.fingerprint} after term ${known.prevTerm}`,
        )
    }
  }

  /** Before a truncation: nothing at or below the node's own commit index may be removed. */
  onTruncate(node: NodeId, from: number, commit: number): void {
    if (from <= commit)
      throw new Violation(
        "committedNotTruncated",
        `${node} truncates its log from ${from} with commit ${commit}`,
      )
  }

  /** A leader's commit index moved from `from` to `to` in `term`: record what became committed. */
  onLeaderCommit(node: NodeId, term: number, from: number, to: number, live: LogImage): void {
    for (let i = from + 1; i <= to; i++) {
      if (this.committed.has(i)) {
        const c = this.committed.get(i)!
        const have = live.termAt(i)
        if (have !== undefined && have !== c.term)
          throw new Violation(
            "stateMachineSafety",
            `leader ${node} (term ${term}) commits index ${i} with term ${have}, already committed with term ${c.term}`,
          )
        continue
      }
      const entry = live.entryAt(i)
      if (entry === undefined) continue
      this.committed.set(i, { term: entry.term, fingerprint: entryFingerprint(entry), commitTerm: term })
    }
  }

  onCommitIndex(node: NodeId, previous: number, next: number): void {
    if (next < previous)
      throw new Violation("monotoneCommit", `${node} commit index went back from ${previous} to ${next}`)
  }

  onDurableCommit(node: NodeId, commit: number): void {
    const previous = this.durableCommit.get(node) ?? 0
    if (commit < previous)
      throw new Violation("monotoneCommit", `${node} durable commit went back from ${previous} to ${commit}`)
    this.durableCommit.set(node, commit)
  }

  onApply(node: NodeId, entry: Entry): void {
    const fingerprint = entryFingerprint(entry)
    const prior = this.applied.get(entry.index)
    if (prior === undefined) {
      this.applied.set(entry.index, { term: entry.term, fingerprint, node })
      if (entry.index > this.maxApplied) this.maxApplied = entry.index
    } else if (prior.term !== entry.term || prior.fingerprint !== fingerprint)
      throw new Violation(
        "stateMachineSafety",
        `${node} applies (index ${entry.index}, term ${entry.term}) but ${prior.node} applied term ${prior.term} there`,
      )
    const c = this.committed.get(entry.index)
    if (c !== undefined && (c.term !== entry.term || c.fingerprint !== fingerprint))
      throw new Violation(
        "stateMachineSafety",
        `${node} applies (index ${entry.index}, term ${entry.term}) but term ${c.term} was committed there`,
      )
  }

  /** A snapshot installed from the leader must agree with what was applied at its index. */
  onSnapshotInstalled(node: NodeId, snapshot: Snapshot): void {
    const { index, term } = snapshot.meta
    const prior = this.applied.get(index)
    if (prior !== undefined && prior.term !== term)
      throw new Violation(
        "stateMachineSafety",
        `${node} installs a snapshot at (index ${index}, term ${term}) but ${prior.node} applied term ${prior.term}`,
      )
    this.onStateHash(node, index, snapshot.data)
  }

  /** Replicas at the same applied index must hold byte-identical state. */
  onStateHash(node: NodeId, index: number, data: Uint8Array): void {
    let h = 0x811c9dc5
    for (const byte of data) h = Math.imul(h ^ byte, 0x01000193)
    const hash = `${data.length}:${(h >>> 0).toString(36)}`
    const prior = this.snapshotHashes.get(index)
    if (prior === undefined) this.snapshotHashes.set(index, { hash, node })
    else if (prior.hash !== hash)
      throw new Violation(
        "snapshotAgreement",
        `${node} state at index ${index} hashes to ${hash}, ${prior.node} had ${prior.hash}`,
      )
  }
}
