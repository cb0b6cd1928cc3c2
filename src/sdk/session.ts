/**
 * A session: one lease kept alive for as long as the process wants it (etcd's
 * concurrency.Session). Keys put with `session.lease` vanish when the session ends: on `close()`
 * (which revokes the lease), or TTL seconds after the process stops renewing (crash, partition).
 */
import type { LatticeClient } from "./client.ts"
import type { LeaseLostError } from "./errors.ts"
import type { KeepAlive } from "./keep-alive.ts"

export interface SessionOptions {
  /** Lease TTL in seconds (default 60, as etcd). */
  readonly ttl?: number
  /** Renewal period in ms (default TTL/3). */
  readonly renewEveryMs?: number
}

export const DEFAULT_SESSION_TTL_SECONDS = 60

export class Session implements AsyncDisposable {
  /** Aborts when the lease is lost or the session is closed: stop work that depends on it. */
  readonly signal: AbortSignal
  private readonly ended = new AbortController()
  private closing: Promise<void> | undefined

  constructor(
    private readonly client: LatticeClient,
    readonly lease: bigint,
    readonly keepAlive: KeepAlive,
  ) {
    this.signal = this.ended.signal
    void keepAlive.lost.then(() => this.ended.abort())
  }

  /** Settles with why the lease was lost; stays pending while the session is alive. */
  get lost(): Promise<LeaseLostError> {
    return this.keepAlive.lost
  }

  /** Stops renewing and revokes the lease (deleting its keys). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended.abort()
      this.keepAlive.close()
      await this.client.revoke(this.lease).catch((err: { code?: number }) => {
        // Already gone is fine: the keys went with it.
        if (err.code !== 5) throw err
      })
    })()
    return this.closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

export const session = async (client: LatticeClient, options: SessionOptions = {}): Promise<Session> => {
  const ttl = options.ttl ?? DEFAULT_SESSION_TTL_SECONDS
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new RangeError(`lattice: session ttl is whole seconds, at least 1; got ${ttl}`)
  }
  const g = await client.grant(ttl)
  return new Session(client, g.id, client.keepAlive(g.id, g.ttl, { intervalMs: options.renewEveryMs }))
}
