/**
 * Leader election with the semantics of Kubernetes' client-go leaderelection, on Lattice:
 *  - a candidate holds a lease of `leaseDuration` and campaigns (Election service) with its
 *    identity; the oldest candidate key under the election's name leads;
 *  - the leader renews every `retryPeriod`; if no renewal has succeeded for `renewDeadline`, it
 *    stops leading at once (`onStoppedLeading`), before its lease can expire on the server
 *    (leaseDuration > renewDeadline), so two leaders never overlap by this client's clock;
 *  - `run(signal)` returns once leadership ends (lost, or `signal` aborted); with
 *    `releaseOnCancel` (default) an aborted leader resigns so the next candidate takes over now.
 * Validation is client-go's: leaseDuration > renewDeadline > 1.2 × retryPeriod, all positive.
 */
import { hostname } from "node:os"
import { Duration } from "effect"
import type { LeaderKey } from "../adapters/etcd/proto/etcd.gen.ts"
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { text } from "./bytes.ts"
import type { LatticeClient } from "./client.ts"
import { LatticeClientError, toClientError, WatchCompactedError } from "./errors.ts"
import type { KeepAlive } from "./keep-alive.ts"
import { backoffMs, isTransient } from "./retry.ts"

/** client-go's JitterFactor. */
const JITTER_FACTOR = 1.2

export interface LeaderElectionConfig {
  /** The election: candidates' keys live under "<name>/". */
  readonly name: string
  /** What this candidate proclaims (default "<hostname>-<pid>"). */
  readonly identity?: string
  /** How long a leader's lease lasts without renewal; rounded up to whole seconds. */
  readonly leaseDuration: Duration.DurationInput
  /** A leader that could not renew for this long stops leading. */
  readonly renewDeadline: Duration.DurationInput
  /** Between renewals, and between campaign attempts after a failure. */
  readonly retryPeriod: Duration.DurationInput
  /** Called on winning; `signal` aborts when leadership ends. Errors are reported, not thrown. */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>
  /** Called once leadership ends, however it ends. */
  readonly onStoppedLeading: () => void
  /** Called with the identity of each new leader observed (this one included). */
  readonly onNewLeader?: (identity: string) => void
  /** Resign when `run`'s signal aborts while leading (default true). */
  readonly releaseOnCancel?: boolean
  /** Where errors of callbacks and background calls go (default console.error). */
  readonly onError?: (err: unknown) => void
}

export interface ValidatedTimings {
  readonly leaseDurationMs: number
  readonly renewDeadlineMs: number
  readonly retryPeriodMs: number
}

/** client-go's NewLeaderElector checks, with its messages. */
export const validateLeaderElection = (c: LeaderElectionConfig): ValidatedTimings => {
  const ms = (d: Duration.DurationInput, what: string) => {
    const decoded = Duration.decodeUnknown(d)
    if (decoded._tag === "None") throw new RangeError(`lattice: ${what} is not a duration: ${String(d)}`)
    return Duration.toMillis(decoded.value)
  }
  const leaseDurationMs = ms(c.leaseDuration, "leaseDuration")
  const renewDeadlineMs = ms(c.renewDeadline, "renewDeadline")
  const retryPeriodMs = ms(c.retryPeriod, "retryPeriod")
  if (leaseDurationMs <= renewDeadlineMs)
    throw new RangeError("leaseDuration must be greater than renewDeadline")
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs)
    throw new RangeError(`renewDeadline must be greater than retryPeriod*JitterFactor (${JITTER_FACTOR})`)
  if (leaseDurationMs < 1) throw new RangeError("leaseDuration must be greater than zero")
  if (renewDeadlineMs < 1) throw new RangeError("renewDeadline must be greater than zero")
  if (retryPeriodMs < 1) throw new RangeError("retryPeriod must be greater than zero")
  if (c.name === "" || c.name.includes("\0"))
    throw new RangeError("lattice: leader election name must be non-empty")
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs }
}

export class LeaderElector {
  readonly identity: string
  readonly timings: ValidatedTimings
  private leading = false
  private leaderKey: LeaderKey | undefined
  private observedLeader: string | undefined

  constructor(
    private readonly client: LatticeClient,
    readonly config: LeaderElectionConfig,
  ) {
    this.timings = validateLeaderElection(config)
    this.identity = config.identity ?? `${hostname()}-${process.pid}`
  }

  /**
   * While leading: a txn compare that holds only as long as this candidate's leader key is in
   * place, to fence writes made on behalf of the leader (undefined when not leading).
   */
  owns(): pb.Compare | undefined {
    const k = this.leaderKey
    if (!this.leading || k === undefined) return undefined
    return {
      key: k.key,
      target: pb.Compare_CompareTarget.CREATE,
      result: pb.Compare_CompareResult.EQUAL,
      createRevision: k.rev,
    }
  }

  /** Whether this candidate currently leads (by its own reckoning, which errs on "no"). */
  isLeader(): boolean {
    return this.leading
  }

  /** The identity of the last leader observed, if any. */
  getLeader(): string | undefined {
    return this.observedLeader
  }

  private report(err: unknown): void {
    ;(this.config.onError ?? ((e) => console.error("lattice leader election:", e)))(err)
  }

  private newLeader(identity: string): void {
    if (identity === this.observedLeader) return
    this.observedLeader = identity
    try {
      this.config.onNewLeader?.(identity)
    } catch (err) {
      this.report(err)
    }
  }

  /** Campaigns until elected or `signal` aborts; returns after leadership ends. */
  async run(signal: AbortSignal): Promise<void> {
    const clock = this.client.clock
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.timings
    const ttl = BigInt(Math.max(1, Math.ceil(leaseDurationMs / 1000)))
    const observation = new AbortController()
    const stopObserving = () => observation.abort()
    signal.addEventListener("abort", stopObserving, { once: true })
    const observing = this.observe(observation.signal)
    try {
      for (let attempt = 1; !signal.aborted; attempt++) {
        let lease: bigint
        try {
          lease = (await this.client.grant(ttl, { signal })).id
        } catch (err) {
          if (signal.aborted) return
          this.report(err)
          await clock.sleep(retryPeriodMs, signal)
          continue
        }
        const ka = this.client.keepAlive(lease, ttl, { intervalMs: retryPeriodMs })
        const campaignAbort = new AbortController()
        const stopCampaign = () => campaignAbort.abort()
        signal.addEventListener("abort", stopCampaign, { once: true })
        void ka.lost.then(stopCampaign)
        try {
          const won = await this.client.campaign(this.config.name, lease, this.identity, {
            signal: campaignAbort.signal,
          })
          if (signal.aborted) {
            await this.release(won.leader, lease)
            return
          }
          if (!ka.alive) continue
          await this.lead(won.leader!, lease, ka, signal, renewDeadlineMs)
          return
        } catch (err) {
          const e = toClientError(err)
          if (signal.aborted) return
          if (!ka.alive) continue // the lease expired while campaigning: start over with a new one
          if (!isTransient(e)) this.report(e)
          await clock.sleep(Math.max(retryPeriodMs, backoffMs(this.client.policy, attempt + 1)), signal)
        } finally {
          signal.removeEventListener("abort", stopCampaign)
          if (!this.leading) {
            ka.close()
            // Leadership over or candidacy failed: free the lease now rather than at its expiry
            // (best effort, bounded: the cluster may be what failed).
            await this.bestEffort((s) => this.client.revoke(lease, { signal: s }))
          }
        }
      }
    } finally {
      signal.removeEventListener("abort", stopObserving)
      observation.abort()
      await observing
    }
  }

  /** Leads until the lease is lost, renewals miss the deadline, the key goes, or `signal` aborts. */
  private async lead(
    leader: LeaderKey,
    lease: bigint,
    ka: KeepAlive,
    signal: AbortSignal,
    renewDeadlineMs: number,
  ): Promise<void> {
    const clock = this.client.clock
    const leadership = new AbortController()
    this.leaderKey = leader
    this.leading = true
    this.newLeader(this.identity)
    const stop = () => leadership.abort()
    signal.addEventListener("abort", stop, { once: true })
    void ka.lost.then(stop)
    // Someone deleting the leader key (an operator, a resign elsewhere) ends leadership too.
    const watching = this.watchLeaderKey(leader, leadership.signal).then(stop, (err) => {
      if (!leadership.signal.aborted) this.report(err)
      stop()
    })
    try {
      Promise.resolve()
        .then(() => this.config.onStartedLeading(leadership.signal))
        .catch((err) => this.report(err))
      while (!leadership.signal.aborted) {
        const deadline = ka.lastRenewed + renewDeadlineMs
        const now = clock.now()
        if (now >= deadline) break
        await clock.sleep(Math.min(this.timings.retryPeriodMs, deadline - now), leadership.signal)
      }
    } finally {
      leadership.abort()
      await watching
      signal.removeEventListener("abort", stop)
      this.leading = false
      this.leaderKey = undefined
      try {
        this.config.onStoppedLeading()
      } catch (err) {
        this.report(err)
      }
      if (signal.aborted && this.config.releaseOnCancel !== false) await this.release(leader, lease)
      else {
        // Lost: stop renewing, so the lease (and the key) expire if they have not already.
        ka.close()
      }
    }
  }

  /** Runs `f`, giving up after renewDeadline; failures are reported, "not found" ignored. */
  private async bestEffort(f: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const giveUp = new AbortController()
    void this.client.clock.sleep(this.timings.renewDeadlineMs, giveUp.signal).then(() => giveUp.abort())
    try {
      await f(giveUp.signal)
    } catch (err) {
      if (!giveUp.signal.aborted && !(err instanceof LatticeClientError && err.code === 5)) this.report(err)
    } finally {
      giveUp.abort()
    }
  }

  private async release(leader: LeaderKey | undefined, lease: bigint) {
    if (leader !== undefined) await this.bestEffort((signal) => this.client.resign(leader, { signal }))
    await this.bestEffort((signal) => this.client.revoke(lease, { signal }))
  }

  /** Resolves when the leader key is deleted or no longer ours (or `signal` aborts). */
  private async watchLeaderKey(leader: LeaderKey, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const cur = await this.client.get(leader.key!, { signal })
      if (cur.kvs[0]?.createRevision !== leader.rev) return
      const w = this.client.watch(leader.key!, { startRevision: cur.revision + 1n })
      const close = () => w.close()
      signal.addEventListener("abort", close, { once: true })
      try {
        for await (const b of w) if (b.events.some((e) => (e.type ?? 0) === pb.Event_EventType.DELETE)) return
        return
      } catch (err) {
        // Compacted while disconnected: look at the key again and keep watching.
        if (!(err instanceof WatchCompactedError)) throw err
      } finally {
        signal.removeEventListener("abort", close)
        w.close()
      }
    }
  }

  /** Follows the election's leader (Observe stream), reporting each new identity. */
  private async observe(signal: AbortSignal): Promise<void> {
    if (this.config.onNewLeader === undefined) return
    try {
      for await (const res of this.client.observe(this.config.name, signal))
        this.newLeader(text(res.kv?.value))
    } catch (err) {
      if (!signal.aborted) this.report(err)
    }
  }
}

export const leaderElection = (client: LatticeClient, config: LeaderElectionConfig): LeaderElector =>
  new LeaderElector(client, config)
