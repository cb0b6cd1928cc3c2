/**
 * Simulated clients: each runs one operation at a time against a random node (or the last leader
 * it heard of), retries elsewhere when told the operation definitely did not happen, and records
 * a history with virtual call/return times for the linearizability checker.
 *
 * A write or CAS whose attempt times out is indeterminate (return time ∞): it may still commit.
 * It is never retried, because a second copy could take effect twice. Reads have no effect, so
 * they retry on timeouts until their own deadline.
 */
import type { NodeId } from "../../schemas/raft.ts"
import type { KvInput, KvOperation, KvOutput } from "../support/linearizability-kv.ts"
import type { Prng } from "./prng.ts"

export const readAttemptTimeout = 150
export const writeAttemptTimeout = 400
export const opDeadline = 1000

export interface InFlight {
  readonly opNo: number
  readonly input: KvInput
  readonly call: number
  reqId: number
  target: NodeId | null
}

export class SimClient {
  op: InFlight | null = null
  leaderHint: NodeId | null = null
  private nextOpNo = 0
  /** Values this client has written or seen, to aim CAS at plausible expectations. */
  private readonly seen: (string | null)[] = [null]

  constructor(
    readonly id: number,
    private readonly keys: readonly string[],
    /** A scripted probe: runs the one operation it is given, then stops. */
    readonly oneShot = false,
  ) {}

  /** Start a given operation (scripted probes). */
  beginWith(input: KvInput, now: number): InFlight {
    this.op = { opNo: this.nextOpNo++, input, call: now, reqId: -1, target: null }
    return this.op
  }

  begin(rng: Prng, now: number): InFlight {
    const opNo = this.nextOpNo++
    const key = rng.pick(this.keys)
    const value = `c${this.id}.${opNo}`
    const roll = rng.float()
    const input: KvInput =
      roll < 0.4
        ? { op: "read", key }
        : roll < 0.75
          ? { op: "write", key, value }
          : { op: "cas", key, expected: rng.pick(this.seen.slice(-4)), value }
    this.op = { opNo, input, call: now, reqId: -1, target: null }
    return this.op
  }

  /** Complete the current operation; returns its history record (null for a dropped read). */
  finish(id: number, now: number, output: KvOutput | null): KvOperation {
    const op = this.op!
    this.op = null
    if (output?.op === "read") this.seen.push(output.value)
    if (op.input.op !== "read") this.seen.push(op.input.value)
    if (this.seen.length > 16) this.seen.splice(0, this.seen.length - 16)
    return {
      id,
      client: this.id,
      input: op.input,
      output,
      call: op.call,
      ret: output === null ? Infinity : now,
    }
  }

  /** Drop the current operation from the history (it definitely never took effect). */
  abandon(): void {
    this.op = null
  }
}
