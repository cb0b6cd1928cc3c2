/**
 * The tiny state machine the simulated cluster replicates: a map of registers with write and
 * compare-and-set. Commands travel in entry data as JSON; reads never enter the log (they go
 * through ReadIndex).
 */
import type { Entry } from "../../schemas/raft.ts"
import { Violation } from "./invariants.ts"

export interface RegisterCommand {
  readonly op: "write" | "cas"
  readonly key: string
  readonly value: string
  /** For cas: the value that must be current; null = the key must be absent. */
  readonly expected: string | null
  /** Unique per client attempt, so the proposer recognises its own entry at apply time. */
  readonly clientOpId: string
}

export type ApplyResult = { readonly op: "write" } | { readonly op: "cas"; readonly ok: boolean }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const encodeCommand = (cmd: RegisterCommand): Uint8Array => encoder.encode(JSON.stringify(cmd))
export const decodeCommand = (data: Uint8Array): RegisterCommand => JSON.parse(decoder.decode(data))

/** One change, as watchers see it: every write and successful cas makes the next revision. */
export interface RegisterEvent {
  readonly revision: number
  readonly key: string
  readonly value: string
}

export class RegisterMachine {
  private values = new Map<string, string>()
  appliedIndex = 0
  /** etcd-like: starts at 1, +1 per change. */
  revision = 1

  /**
   * `changes`: the cluster's change history, shared by every replica of a simulation (element
   * i is revision i + 2). A replica's history is its prefix up to `revision` — what the MVCC
   * store keeps and watchers replay — so it need not travel in snapshots. A replica that applies
   * a different change at a revision already recorded is a divergence, reported at once.
   */
  constructor(private readonly changes: RegisterEvent[] = []) {}

  /** This replica's changes with a revision >= from. */
  historyFrom(from: number): readonly RegisterEvent[] {
    return this.changes.slice(Math.max(0, from - 2), this.revision - 1)
  }

  private change(key: string, value: string): void {
    this.values.set(key, value)
    this.revision++
    const known = this.changes[this.revision - 2]
    if (known === undefined) this.changes.push({ revision: this.revision, key, value })
    else if (known.key !== key || known.value !== value)
      throw new Violation(
        "watch",
        `replicas disagree at revision ${this.revision}: ${known.key}=${known.value} vs ${key}=${value}`,
      )
  }

  /** Apply one committed normal entry; returns the command and its result. */
  applyCommand(entry: Entry): { cmd: RegisterCommand; result: ApplyResult } {
    const cmd = decodeCommand(entry.data)
    this.appliedIndex = entry.index
    if (cmd.op === "write") {
      this.change(cmd.key, cmd.value)
      return { cmd, result: { op: "write" } }
    }
    const ok = (this.values.get(cmd.key) ?? null) === cmd.expected
    if (ok) this.change(cmd.key, cmd.value)
    return { cmd, result: { op: "cas", ok } }
  }

  read(key: string): string | null {
    return this.values.get(key) ?? null
  }

  /** Canonical encoding (sorted keys) so equal states have equal bytes. */
  snapshot(): Uint8Array {
    const pairs = [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return encoder.encode(JSON.stringify({ pairs, revision: this.revision }))
  }

  restore(data: Uint8Array, index: number): void {
    const state =
      data.length === 0
        ? { pairs: [], revision: 1 }
        : (JSON.parse(decoder.decode(data)) as { pairs: [string, string][]; revision: number })
    this.values = new Map(state.pairs)
    this.revision = state.revision
    this.appliedIndex = index
  }
}

/** A short stable fingerprint of an entry's content, for cross-node comparisons. */
export const entryFingerprint = (entry: Entry): string => {
  let h = 0x811c9dc5
  for (const byte of entry.data) h = Math.imul(h ^ byte, 0x01000193)
  return `${entry.type}:${entry.data.length}:${(h >>> 0).toString(36)}`
}
