/**
 * The tiny state machine the simulated cluster replicates: a map of registers with write and
 * compare-and-set, and leases on a committed clock (grant, renew, revoke, puts with a lease, the
 * lock recipe's create-if-absent, and the leader's tick entries that expire leases), with the
 * semantics of src/kv/lease/apply.ts. Commands travel in entry data as JSON; reads never enter
 * the log (they go through ReadIndex).
 */
import type { Entry } from "../../schemas/raft.ts"
import { Violation } from "./invariants.ts"

/** A register write or compare-and-set (the linearizability-checked clients). */
export interface RegisterCommand {
  readonly op: "write" | "cas"
  readonly key: string
  readonly value: string
  /** For cas: the value that must be current; null = the key must be absent. */
  readonly expected: string | null
  /** Unique per client attempt, so the proposer recognises its own entry at apply time. */
  readonly clientOpId: string
}

/** Lease commands, with the semantics of src/kv/lease/apply.ts on the committed clock. */
export type LeaseCommand =
  | { readonly op: "grant"; readonly lease: number; readonly ttl: number; readonly clientOpId: string }
  | { readonly op: "renew"; readonly lease: number; readonly clientOpId: string }
  | { readonly op: "revoke"; readonly lease: number; readonly clientOpId: string }
  /** A put that attaches the key to a live lease (refused if the lease is gone). */
  | {
      readonly op: "leasedPut"
      readonly key: string
      readonly value: string
      readonly lease: number
      readonly clientOpId: string
    }
  /** The etcd lock recipe's txn: create `key` with the lease if absent; answer the holder. */
  | {
      readonly op: "acquire"
      readonly key: string
      readonly value: string
      readonly lease: number
      readonly clientOpId: string
    }
  /** The leader's clock entry (leader-clock.ts); `proposedAt` is virtual time, for the checks only. */
  | {
      readonly op: "tick"
      readonly tick: number
      readonly ms: number
      readonly proposedAt: number
      readonly clientOpId: string
    }

export type MachineCommand = RegisterCommand | LeaseCommand

export type ApplyResult =
  | { readonly op: "write" }
  | { readonly op: "cas"; readonly ok: boolean }
  | { readonly op: "grant"; readonly ok: boolean }
  /** The TTL running again, or -1: the lease is gone. */
  | { readonly op: "renew"; readonly ttl: number }
  | { readonly op: "revoke"; readonly found: boolean }
  | { readonly op: "leasedPut"; readonly ok: boolean }
  /** `token`: the lock key's create revision (the fencing token); 0 with holder "" = not taken. */
  | { readonly op: "acquire"; readonly holder: string; readonly token: number }
  | { readonly op: "tick" }

/** What a command did, for the simulator's lease checks (lease-oracle.ts). */
export interface LeaseEffect {
  /** The committed clock after the command. */
  readonly clockMs: number
  /** Leases dropped by this command (expired by a tick, or revoked). */
  readonly dropped: readonly number[]
  /** The revisions the command made, with their events. */
  readonly revisions: readonly (readonly RegisterEvent[])[]
}

/**
 * TEST ONLY: deliberately broken lease handling, to prove the lease checks can fail.
 *  - expireEarly: ticks expire leases 10 ms before their deadline;
 *  - splitExpiry: each key of a dropped lease is deleted in a revision of its own;
 *  - clockFromUptime: a new leader proposes its own uptime as the committed clock (sim-node.ts).
 */
export type LeaseBug = "expireEarly" | "splitExpiry" | "clockFromUptime"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const encodeCommand = (cmd: MachineCommand): Uint8Array => encoder.encode(JSON.stringify(cmd))
export const decodeCommand = (data: Uint8Array): MachineCommand => JSON.parse(decoder.decode(data))

/** One change, as watchers see it; a revision may hold several (a lease's deletions). */
export interface RegisterEvent {
  readonly revision: number
  readonly type: "put" | "delete"
  readonly key: string
  /** Empty for a delete. */
  readonly value: string
}

interface LeaseRow {
  readonly ttl: number
  deadline: number
}

const sortedEntries = <V>(m: Map<string, V> | Map<number, V>): [string | number, V][] =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

export class RegisterMachine {
  private values = new Map<string, string>()
  /** Create revision of every live key (the lock's fencing token). */
  private created = new Map<string, number>()
  /** Live keys attached to a lease. */
  private keyLease = new Map<string, number>()
  private leases = new Map<number, LeaseRow>()
  /** The committed clock (ms), moved only forward by tick entries, and the last tick number. */
  clockMs = 0
  tick = 0
  appliedIndex = 0
  /** etcd-like: starts at 1, +1 per change. */
  revision = 1

  /**
   * `changes`: the cluster's change history, shared by every replica of a simulation (element
   * i holds the events of revision i + 2). A replica's history is its prefix up to `revision` —
   * what the MVCC store keeps and watchers replay — so it need not travel in snapshots. A replica
   * that applies a different change at a revision already recorded is a divergence, reported at
   * once (as `watch` for register writes, `lease` for a lease's deletions).
   */
  constructor(
    private readonly changes: RegisterEvent[][] = [],
    private readonly bug?: LeaseBug,
  ) {}

  /** This replica's changes with a revision >= from. */
  historyFrom(from: number): readonly RegisterEvent[] {
    return this.changes.slice(Math.max(0, from - 2), this.revision - 1).flat()
  }

  /** The events of this replica's latest revision. */
  lastRevision(): readonly RegisterEvent[] {
    return this.changes[this.revision - 2] ?? []
  }

  private commit(events: RegisterEvent[], invariant: "watch" | "lease"): void {
    const known = this.changes[this.revision - 2]
    if (known === undefined) this.changes.push(events)
    else if (JSON.stringify(known) !== JSON.stringify(events))
      throw new Violation(
        invariant,
        `replicas disagree at revision ${this.revision}: ${JSON.stringify(known)} vs ${JSON.stringify(events)}`,
      )
  }

  private put(key: string, value: string, lease: number): void {
    this.values.set(key, value)
    if (!this.created.has(key)) this.created.set(key, this.revision + 1)
    if (lease === 0) this.keyLease.delete(key)
    else this.keyLease.set(key, lease)
    this.revision++
    this.commit([{ revision: this.revision, type: "put", key, value }], "watch")
  }

  private live(lease: number): LeaseRow | undefined {
    const row = this.leases.get(lease)
    return row !== undefined && row.deadline > this.clockMs ? row : undefined
  }

  /** Deletes the leases and every key attached to them, all in one revision. */
  private drop(ids: readonly number[]): void {
    const gone = new Set(ids)
    for (const id of ids) this.leases.delete(id)
    const keys = [...this.keyLease.entries()]
      .filter(([, l]) => gone.has(l))
      .map(([k]) => k)
      .sort()
    if (keys.length === 0) return
    for (const k of keys) {
      this.values.delete(k)
      this.created.delete(k)
      this.keyLease.delete(k)
      if (this.bug === "splitExpiry") {
        this.revision++
        this.commit([{ revision: this.revision, type: "delete", key: k, value: "" }], "lease")
      }
    }
    if (this.bug === "splitExpiry") return
    this.revision++
    this.commit(
      keys.map((key) => ({ revision: this.revision, type: "delete" as const, key, value: "" })),
      "lease",
    )
  }

  /** Apply one committed normal entry; returns the command, its result and its lease effect. */
  applyCommand(entry: Entry): { cmd: MachineCommand; result: ApplyResult; lease: LeaseEffect } {
    const cmd = decodeCommand(entry.data)
    this.appliedIndex = entry.index
    let dropped: number[] = []
    const revisionBefore = this.revision
    const result = ((): ApplyResult => {
      switch (cmd.op) {
        case "write":
          this.put(cmd.key, cmd.value, 0)
          return { op: "write" }
        case "cas": {
          const ok = (this.values.get(cmd.key) ?? null) === cmd.expected
          if (ok) this.put(cmd.key, cmd.value, 0)
          return { op: "cas", ok }
        }
        case "grant":
          if (this.leases.has(cmd.lease)) return { op: "grant", ok: false }
          this.leases.set(cmd.lease, { ttl: cmd.ttl, deadline: this.clockMs + cmd.ttl })
          return { op: "grant", ok: true }
        case "renew": {
          const row = this.live(cmd.lease)
          if (row === undefined) return { op: "renew", ttl: -1 }
          row.deadline = this.clockMs + row.ttl
          return { op: "renew", ttl: row.ttl }
        }
        case "revoke":
          if (!this.leases.has(cmd.lease)) return { op: "revoke", found: false }
          dropped = [cmd.lease]
          this.drop(dropped)
          return { op: "revoke", found: true }
        case "leasedPut":
          if (this.live(cmd.lease) === undefined) return { op: "leasedPut", ok: false }
          this.put(cmd.key, cmd.value, cmd.lease)
          return { op: "leasedPut", ok: true }
        case "acquire":
          if (!this.values.has(cmd.key) && this.live(cmd.lease) !== undefined)
            this.put(cmd.key, cmd.value, cmd.lease)
          return {
            op: "acquire",
            holder: this.values.get(cmd.key) ?? "",
            token: this.created.get(cmd.key) ?? 0,
          }
        case "tick":
          // Only forward (a deposed leader's late tick changes nothing), then expire what is due.
          this.tick = Math.max(this.tick, cmd.tick)
          if (cmd.ms > this.clockMs) {
            this.clockMs = cmd.ms
            dropped = [...this.leases.entries()]
              .filter(([, row]) => row.deadline <= this.clockMs + (this.bug === "expireEarly" ? 10 : 0))
              .sort(([a, ra], [b, rb]) => ra.deadline - rb.deadline || a - b)
              .map(([id]) => id)
            if (dropped.length > 0) this.drop(dropped)
          }
          return { op: "tick" }
      }
    })()
    const revisions = this.changes.slice(revisionBefore - 1, this.revision - 1)
    return { cmd, result, lease: { clockMs: this.clockMs, dropped, revisions } }
  }

  get leaseCount(): number {
    return this.leases.size
  }

  read(key: string): string | null {
    return this.values.get(key) ?? null
  }

  /** Canonical encoding (sorted keys) so equal states have equal bytes. */
  snapshot(): Uint8Array {
    return encoder.encode(
      JSON.stringify({
        pairs: sortedEntries(this.values),
        created: sortedEntries(this.created),
        keyLease: sortedEntries(this.keyLease),
        leases: sortedEntries(this.leases).map(([id, r]) => [id, r.ttl, r.deadline]),
        clockMs: this.clockMs,
        tick: this.tick,
        revision: this.revision,
      }),
    )
  }

  restore(data: Uint8Array, index: number): void {
    const state =
      data.length === 0
        ? { pairs: [], created: [], keyLease: [], leases: [], clockMs: 0, tick: 0, revision: 1 }
        : (JSON.parse(decoder.decode(data)) as {
            pairs: [string, string][]
            created: [string, number][]
            keyLease: [string, number][]
            leases: [number, number, number][]
            clockMs: number
            tick: number
            revision: number
          })
    this.values = new Map(state.pairs)
    this.created = new Map(state.created)
    this.keyLease = new Map(state.keyLease)
    this.leases = new Map(state.leases.map(([id, ttl, deadline]) => [id, { ttl, deadline }]))
    this.clockMs = state.clockMs
    this.tick = state.tick
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
