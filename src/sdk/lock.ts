/**
 * A distributed lock with a fencing token, over the Lock service. The token is the lock key's
 * creation revision: it grows strictly from one holder to the next, so a resource that remembers
 * the largest token it has seen can refuse a late write from a holder that lost the lock (its
 * lease expired while it was paused). Writes into Lattice itself can be fenced exactly with
 * `handle.owns()`, a compare that holds only while the lock key is still this holder's.
 */
import { GrpcCode } from "../adapters/etcd/errors.ts"
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import type { Bytes } from "./bytes.ts"
import type { LatticeClient } from "./client.ts"
import { toClientError } from "./errors.ts"
import { backoffMs, isTransient } from "./retry.ts"
import { session as openSession, type Session } from "./session.ts"

export interface LockOptions {
  /** Hold the lock on this session's lease; otherwise the lock opens (and closes) its own. */
  readonly session?: Session
  /** TTL in seconds of the lock's own session (default 60). */
  readonly ttl?: number
  /** Give up waiting when this aborts. */
  readonly signal?: AbortSignal
}

export class LockHandle implements AsyncDisposable {
  constructor(
    private readonly client: LatticeClient,
    readonly key: Uint8Array,
    /** The lock key's creation revision: strictly larger than any earlier holder's. */
    readonly fencingToken: bigint,
    /** The store revision at which the lock was found to be ours. */
    readonly grantedAt: bigint,
    readonly session: Session,
    private readonly ownsSession: boolean,
  ) {}

  /** Aborts when the lease behind the lock is lost: the lock may be someone else's by then. */
  get signal(): AbortSignal {
    return this.session.signal
  }

  /** A txn compare that holds only while this holder still owns the lock (etcd's IsOwner). */
  owns(): pb.Compare {
    return {
      key: this.key,
      target: pb.Compare_CompareTarget.CREATE,
      result: pb.Compare_CompareResult.EQUAL,
      createRevision: this.fencingToken,
    }
  }

  /** Releases the lock (and the lock's own session). */
  async unlock(): Promise<void> {
    if (this.ownsSession) await this.session.close()
    else await this.client.unlockRpc(this.key)
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unlock()
  }
}

/** The waiter key the Lock service uses for `lease` under `name` ("<name>/<lease hex>"). */
const waiterKey = (name: Uint8Array, lease: bigint): Uint8Array =>
  new Uint8Array([...name, 0x2f, ...new TextEncoder().encode(lease.toString(16))])

/**
 * Waits for the lock `name`. After a transient failure (the node we waited on stopped) it
 * deletes its waiter key and queues again: retrying in place could return a key that the first
 * node's cleanup is about to delete. The server's cleanup only deletes the incarnation it made.
 */
export const lock = async (
  client: LatticeClient,
  name: Bytes,
  options: LockOptions = {},
): Promise<LockHandle> => {
  const nameBytes = typeof name === "string" ? new TextEncoder().encode(name) : name
  const s = options.session ?? (await openSession(client, { ttl: options.ttl }))
  const owns = options.session === undefined
  const abort = new AbortController()
  const stop = () => abort.abort()
  options.signal?.addEventListener("abort", stop, { once: true })
  s.signal.addEventListener("abort", stop, { once: true })
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await client.lockRpc(nameBytes, s.lease, { signal: abort.signal })
        return new LockHandle(
          client,
          res.key ?? new Uint8Array(0),
          res.fencingToken ?? 0n,
          res.header?.revision ?? 0n,
          s,
          owns,
        )
      } catch (err) {
        const e = toClientError(err)
        if (abort.signal.aborted || !isTransient(e) || attempt >= client.policy.maxAttempts) throw e
        await client.delete(waiterKey(nameBytes, s.lease))
        await client.clock.sleep(backoffMs(client.policy, attempt + 1), abort.signal)
      }
    }
  } catch (err) {
    if (owns) await s.close().catch(() => undefined)
    if (s.signal.aborted && !options.signal?.aborted) {
      throw toClientError({
        code: GrpcCode.UNAVAILABLE,
        details: "lattice: the lock's session lease was lost while waiting",
      })
    }
    throw err
  } finally {
    options.signal?.removeEventListener("abort", stop)
    s.signal.removeEventListener("abort", stop)
  }
}
