/**
 * Keeps one lease alive over a LeaseKeepAlive stream: a renewal every TTL/3, the stream reopened
 * on the next endpoint after a failure. The lease counts as lost when the server answers TTL 0
 * (expired or revoked), or when no renewal succeeded for a whole TTL: from then on the server
 * may have expired it, so holders of locks or leadership on it must stop.
 */
import { GrpcCode } from "../adapters/etcd/errors.ts"
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { type BidiStream, openBidi } from "./bidi.ts"
import type { LatticeClient } from "./client.ts"
import { LatticeClientError, LeaseLostError, toClientError } from "./errors.ts"
import { backoffMs, isTransient } from "./retry.ts"

/** Renew at most this often, whatever the TTL. */
const MIN_INTERVAL_MS = 100

export class KeepAlive {
  /** Settles (never rejects) with why the lease is gone; stays pending while it is kept alive. */
  readonly lost: Promise<LeaseLostError>
  /** TTL the server granted at the last renewal, in seconds. */
  ttl: bigint
  /** Clock reading of the last renewal the server acknowledged (sent at that time or later). */
  lastRenewed: number
  private resolveLost!: (e: LeaseLostError) => void
  private readonly stop = new AbortController()
  private stream: BidiStream<pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse> | undefined
  private responses: AsyncIterator<pb.LeaseKeepAliveResponse> | undefined
  private done = false

  constructor(
    private readonly client: LatticeClient,
    readonly id: bigint,
    ttlSeconds: bigint,
    /** Renewal period; TTL/3 by default. */
    private readonly interval?: number,
  ) {
    this.ttl = ttlSeconds
    this.lastRenewed = client.clock.now()
    this.lost = new Promise((resolve) => (this.resolveLost = resolve))
    void this.run()
  }

  /** Whether the lease may still be alive on the server, by this client's reckoning. */
  get alive(): boolean {
    return !this.done
  }

  /** Milliseconds until the lease may expire on the server if no further renewal gets through. */
  remainingMs(): number {
    return this.lastRenewed + Number(this.ttl) * 1000 - this.client.clock.now()
  }

  /** Stops renewing (the lease then expires after its TTL unless revoked). */
  close(): void {
    this.finish(undefined)
  }

  private finish(reason: LeaseLostError | undefined): void {
    if (this.done) return
    this.done = true
    this.stop.abort()
    this.stream?.cancel()
    if (reason !== undefined) this.resolveLost(reason)
  }

  private intervalMs(): number {
    return Math.max(MIN_INTERVAL_MS, this.interval ?? (Number(this.ttl) * 1000) / 3)
  }

  /** One renewal on the open stream (opening one if needed), bounded by the attempt timeout. */
  private async renewOnce(): Promise<bigint> {
    if (this.stream === undefined) {
      const ep = this.client.endpoints.current()
      this.stream = openBidi(ep.channel, ep.address, pb.LeaseService.LeaseKeepAlive)
      this.responses = this.stream[Symbol.asyncIterator]()
    }
    const stream = this.stream
    stream.write({ ID: this.id })
    const timeout = new AbortController()
    const timer = this.client.clock.sleep(this.client.policy.attemptTimeoutMs, timeout.signal).then(() => {
      throw new LatticeClientError(GrpcCode.DEADLINE_EXCEEDED, "lattice: keep-alive got no answer in time")
    })
    try {
      const next = await Promise.race([this.responses!.next(), timer])
      if (next.done) throw new LatticeClientError(GrpcCode.UNAVAILABLE, "lattice: keep-alive stream ended")
      return next.value.TTL ?? 0n
    } catch (err) {
      throw toClientError(err, stream.endpoint)
    } finally {
      timeout.abort()
    }
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.done && !this.client.closed.aborted) {
      const sentAt = this.client.clock.now()
      try {
        const ttl = await this.renewOnce()
        if (this.done) return
        if (ttl <= 0n) return this.finish(new LeaseLostError(this.id, "expired"))
        this.ttl = ttl
        this.lastRenewed = sentAt
        failures = 0
        await this.client.clock.sleep(this.intervalMs(), this.stop.signal)
      } catch (err) {
        if (this.done) return
        const e = toClientError(err)
        this.stream?.cancel()
        this.stream = undefined
        this.client.endpoints.failover(e.endpoint ?? "")
        if (!isTransient(e) && e.code !== GrpcCode.CANCELLED) {
          // NOT_FOUND and the like: the lease is gone for good.
          return this.finish(new LeaseLostError(this.id, "expired"))
        }
        if (this.remainingMs() <= 0) return this.finish(new LeaseLostError(this.id, "unreachable"))
        failures++
        const wait = Math.min(backoffMs(this.client.policy, failures + 1), Math.max(0, this.remainingMs()))
        await this.client.clock.sleep(wait, this.stop.signal)
      }
    }
    this.finish(undefined)
  }
}
