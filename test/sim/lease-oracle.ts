/**
 * The simulator's lease checks. Every replica reports each normal entry it applies with its
 * result and lease effect. The first report of a log index is checked against an independent
 * model kept here (which leases exist, their last committed renewal, which keys are attached);
 * every later report of the same index (other replicas, replays after a crash) must be
 * identical: expiry is deterministic.
 *
 *  - no early expiry: a lease expires only when the committed clock has reached its last
 *    committed grant/renewal + TTL, and a tick expires every lease that is due;
 *  - no clock jump: between two tick entries the committed clock advances by at most
 *    (fastest node clock rate) × (real time between their proposals), across leader changes; so
 *    a new leader cannot shorten remaining TTLs;
 *  - one revision: expiry/revoke deletes exactly the keys attached to the dropped leases, in one
 *    revision;
 *  - lock model (the etcd recipe: create-if-absent with a lease): a new epoch starts only when
 *    the lock key is absent (at most one holder per lease epoch), and the fencing tokens (the
 *    lock key's create revision) strictly increase in commit order.
 * After healing, `checkProgress` requires the committed clock to keep pace with real time (at
 * the slowest node clock rate): a new leader that reset or froze the clock would fail it.
 */
import type { NodeId } from "../../schemas/raft.ts"
import { Violation } from "./invariants.ts"
import type { ApplyResult, LeaseEffect, MachineCommand } from "./register-machine.ts"

export const LOCK_KEY = "lock"

export interface LeaseOracleHost {
  readonly now: number
  /** The fastest and slowest node clock, in local ms per real ms. */
  clockRates(): { readonly max: number; readonly min: number }
}

interface OracleLease {
  renewedAt: number
  readonly ttl: number
}

export class LeaseOracle {
  private readonly effects = new Map<number, string>()
  private readonly leases = new Map<number, OracleLease>()
  private readonly attached = new Map<string, number>()
  private clock = 0
  private lastSet = { ms: 0, proposedAt: 0 }
  private lockHolder: string | null = null
  private lastToken = 0
  /** Lock holder value → the token of its epoch. */
  private readonly epochs = new Map<string, number>()
  /** (real time, committed clock) whenever the clock moved. */
  private readonly samples: { time: number; ms: number }[] = [{ time: 0, ms: 0 }]
  expired = 0
  revoked = 0

  constructor(private readonly host: LeaseOracleHost) {}

  /** The token of the epoch `holder` started (undefined: it never held the lock). */
  tokenOf(holder: string): number | undefined {
    return this.epochs.get(holder)
  }

  onApply(node: NodeId, index: number, cmd: MachineCommand, result: ApplyResult, effect: LeaseEffect): void {
    const fingerprint = JSON.stringify([result, effect])
    const first = this.effects.get(index)
    if (first !== undefined) {
      if (first !== fingerprint)
        throw new Violation(
          "lease",
          `${node} applies index ${index} (${cmd.op}) differently from the replica that applied it first: ${fingerprint} vs ${first}`,
        )
      return
    }
    this.effects.set(index, fingerprint)
    this.model(index, cmd, result, effect)
  }

  private alive(lease: OracleLease): boolean {
    return this.clock < lease.renewedAt + lease.ttl
  }

  private model(index: number, cmd: MachineCommand, result: ApplyResult, effect: LeaseEffect): void {
    const fail = (what: string) => new Violation("lease", `index ${index} (${cmd.op}): ${what}`)
    if (cmd.op === "tick") {
      if (effect.clockMs > this.clock) {
        const rate = this.host.clockRates().max
        const allowed = this.lastSet.ms + rate * (cmd.proposedAt - this.lastSet.proposedAt) + 1
        if (cmd.ms > allowed)
          throw fail(
            `the committed clock jumps to ${cmd.ms} ms, ahead of real time: the last clock value ${this.lastSet.ms} ms was proposed at ${this.lastSet.proposedAt}, this one at ${cmd.proposedAt} (at most ${allowed.toFixed(0)} ms)`,
          )
        this.lastSet = { ms: cmd.ms, proposedAt: cmd.proposedAt }
        this.clock = effect.clockMs
        this.samples.push({ time: this.host.now, ms: this.clock })
      }
      const due = [...this.leases.entries()].filter(([, l]) => !this.alive(l)).map(([id]) => id)
      for (const id of effect.dropped) {
        const l = this.leases.get(id)
        if (l === undefined) throw fail(`expires lease ${id}, which does not exist`)
        if (this.alive(l))
          throw fail(
            `lease ${id} expires at committed ${this.clock} ms, before its TTL: last renewed at ${l.renewedAt} ms with TTL ${l.ttl} ms`,
          )
      }
      const missed = due.filter((id) => !effect.dropped.includes(id))
      if (missed.length > 0) throw fail(`leases ${missed.join(", ")} are due at ${this.clock} ms but stay`)
      this.drop(effect, fail)
      this.expired += effect.dropped.length
      return
    }
    if (effect.clockMs !== this.clock) throw fail(`moves the committed clock`)
    switch (cmd.op) {
      case "grant": {
        const ok = result.op === "grant" && result.ok
        if (ok === this.leases.has(cmd.lease)) throw fail(`grant of lease ${cmd.lease} answered ok=${ok}`)
        if (ok) this.leases.set(cmd.lease, { renewedAt: this.clock, ttl: cmd.ttl })
        return
      }
      case "renew": {
        const ttl = result.op === "renew" ? result.ttl : -1
        const l = this.leases.get(cmd.lease)
        const alive = l !== undefined && this.alive(l)
        if (ttl > 0 !== alive)
          throw fail(
            `renewal of lease ${cmd.lease} answered TTL ${ttl}, but the lease is ${alive ? "alive" : "gone"}`,
          )
        if (l !== undefined && alive) l.renewedAt = this.clock
        return
      }
      case "revoke": {
        const found = result.op === "revoke" && result.found
        if (found !== this.leases.has(cmd.lease))
          throw fail(`revoke of lease ${cmd.lease} answered found=${found}`)
        if (effect.dropped.length !== (found ? 1 : 0)) throw fail(`revoke drops ${effect.dropped}`)
        this.drop(effect, fail)
        this.revoked += effect.dropped.length
        return
      }
      case "leasedPut": {
        const ok = result.op === "leasedPut" && result.ok
        const l = this.leases.get(cmd.lease)
        if (ok !== (l !== undefined && this.alive(l)))
          throw fail(`a put with lease ${cmd.lease} answered ok=${ok}`)
        if (ok) this.attached.set(cmd.key, cmd.lease)
        return
      }
      case "acquire": {
        if (result.op !== "acquire") throw fail(`answered ${result.op}`)
        const l = this.leases.get(cmd.lease)
        const mayCreate = this.lockHolder === null && l !== undefined && this.alive(l)
        const created = result.holder === cmd.value && !this.epochs.has(cmd.value)
        if (created !== mayCreate)
          throw new Violation(
            "lock",
            `index ${index}: ${cmd.value} ${created ? "takes" : "does not take"} the lock (holder before: ${this.lockHolder ?? "none"}; its lease ${cmd.lease} ${mayCreate ? "alive" : "gone or not granted"})`,
          )
        if (!created) {
          if ((result.holder === "" ? null : result.holder) !== this.lockHolder)
            throw new Violation(
              "lock",
              `index ${index}: holder ${result.holder}, expected ${this.lockHolder}`,
            )
          return
        }
        if (result.token <= this.lastToken)
          throw new Violation(
            "lock",
            `index ${index}: fencing token ${result.token} of ${cmd.value} does not exceed the previous one (${this.lastToken})`,
          )
        this.lastToken = result.token
        this.lockHolder = cmd.value
        this.epochs.set(cmd.value, result.token)
        this.attached.set(cmd.key, cmd.lease)
        return
      }
      case "write":
      case "cas":
        // A put without a lease detaches the key.
        if (result.op === "write" || (result.op === "cas" && result.ok)) this.attached.delete(cmd.key)
        return
    }
  }

  /** The dropped leases' keys, exactly the attached ones, in one revision. */
  private drop(effect: LeaseEffect, fail: (what: string) => Violation): void {
    const gone = new Set(effect.dropped)
    const expected = [...this.attached.entries()]
      .filter(([, l]) => gone.has(l))
      .map(([k]) => k)
      .sort()
    const made = effect.revisions.map((events) => events.map((e) => `${e.type} ${e.key}`))
    const want = expected.length === 0 ? [] : [expected.map((k) => `delete ${k}`)]
    if (JSON.stringify(made) !== JSON.stringify(want))
      throw fail(
        `dropping leases ${effect.dropped.join(", ")} makes the revisions ${JSON.stringify(made)}; expected the attached keys deleted in one revision: ${JSON.stringify(want)}`,
      )
    for (const k of expected) this.attached.delete(k)
    for (const id of gone) this.leases.delete(id)
    if (expected.includes(LOCK_KEY)) this.lockHolder = null
  }

  /** The committed clock must keep pace with real time over [from, to] (after healing). */
  checkProgress(from: number, to: number): void {
    if (to - from < 400) return
    const at = (t: number) => {
      let ms = 0
      for (const s of this.samples) if (s.time <= t) ms = s.ms
      return ms
    }
    const advanced = at(to) - at(from)
    const needed = this.host.clockRates().min * (to - from) - 150
    if (advanced < needed)
      throw new Violation(
        "lease",
        `the committed clock advanced ${advanced} ms in ${to - from} ms of real time after healing (at least ${needed.toFixed(0)} expected): leases would outlive their TTL`,
      )
  }
}
