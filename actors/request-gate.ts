/**
 * The door every client request passes (etcd gRPC, JSON gateway, NATS KV service): counts the
 * requests in flight and, once a drain closes it, refuses new ones with a retryable error that
 * tells the client to use another endpoint. Plain state shared by the adapters (one JS thread).
 */
import { Effect, Schedule } from "effect"

export class RequestGate {
  /** Readiness reports not ready from the moment a drain starts (step 1). */
  draining = false
  /** New requests are refused once false (step 2). */
  accepting = true
  private active = 0
  /** Requests refused because the gate was closed (metrics). */
  refused = 0

  constructor(readonly nodeId: string) {}

  get inflight(): number {
    return this.active
  }

  /** The message a refused client sees (with gRPC code UNAVAILABLE, which etcd clients retry elsewhere). */
  get refusal(): string {
    return `lattice: node ${this.nodeId} is draining and accepts no new requests; retry against another endpoint`
  }

  /** Admits one request, or returns false if the gate is closed. Pair with `leave`. */
  enter(): boolean {
    if (!this.accepting) {
      this.refused++
      return false
    }
    this.active++
    return true
  }

  leave(): void {
    this.active--
  }

  /** Completes when nothing is in flight (polling, so a TestClock drives it in tests). */
  readonly idle: Effect.Effect<void> = Effect.suspend(() =>
    this.active === 0 ? Effect.void : Effect.fail("busy" as const),
  ).pipe(Effect.retry(Schedule.spaced("10 millis")), Effect.orDie)

  /** Opens the gate again (a cancelled drain). */
  reopen(): void {
    this.draining = false
    this.accepting = true
  }
}
