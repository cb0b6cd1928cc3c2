/**
 * The Lattice TypeScript client, over the etcd v3 gRPC API with the generated codecs (no .proto
 * at run time): KV, leases, watches, elections and locks, with endpoint failover and the retry
 * policy of retry.ts. See docs/sdk.md.
 *
 *   const client = connect({ endpoints: ["127.0.0.1:2379", "127.0.0.1:22379"] })
 *   await client.put("config/mode", "fast")
 *   const { kvs } = await client.get("config/", { prefix: true })
 *   client.close()
 */
import { randomUUID } from "node:crypto"
import * as grpc from "@grpc/grpc-js"
import { CLIENT_ID_HEADER, REQUEST_ID_HEADER } from "../adapters/etcd/call-context.ts"
import { GrpcCode } from "../adapters/etcd/errors.ts"
import type { MethodDescriptor } from "../adapters/etcd/proto/descriptor.ts"
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { openBidi, openServerStream } from "./bidi.ts"
import { type Bytes, prefixEnd, toBytes } from "./bytes.ts"
import { type SdkClock, systemClock } from "./clock.ts"
import { Endpoints } from "./endpoints.ts"
import { LatticeClientError, toClientError } from "./errors.ts"
import { KeepAlive } from "./keep-alive.ts"
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  isTransient,
  type RetryPolicy,
  validateRetryPolicy,
} from "./retry.ts"
import { Watcher, type WatchOptions } from "./watch.ts"

export interface ClientOptions {
  /** host:port of each node's client (gRPC) listener; "http://" prefixes are accepted. */
  readonly endpoints: readonly string[]
  readonly retry?: Partial<RetryPolicy>
  /** Retry writes after ambiguous failures, using idempotency keys (default true; Lattice only). */
  readonly retryWrites?: boolean
  readonly credentials?: grpc.ChannelCredentials
  readonly clock?: SdkClock
  /** Idempotency client id; a fresh UUID by default. */
  readonly clientId?: string
}

/** How an operation may be repeated (retry.ts). */
type Repeat = "safe" | "keyed" | "never"

export interface CallOptions {
  readonly signal?: AbortSignal
}

export interface GetOptions extends CallOptions {
  /** Every key starting with `key`. */
  readonly prefix?: boolean
  /** [key, rangeEnd) instead of a single key. */
  readonly rangeEnd?: Bytes
  /** Read at this past revision (0 = latest). */
  readonly revision?: bigint
  readonly limit?: number
  readonly keysOnly?: boolean
  readonly countOnly?: boolean
  /** Local read on the answering node, possibly stale; default linearizable. */
  readonly serializable?: boolean
}

export interface PutOptions extends CallOptions {
  readonly lease?: bigint
  readonly prevKv?: boolean
}

export interface DeleteOptions extends CallOptions {
  readonly prefix?: boolean
  readonly rangeEnd?: Bytes
  readonly prevKv?: boolean
}

const rangeOf = (key: Bytes, o: { prefix?: boolean; rangeEnd?: Bytes }) => {
  const k = toBytes(key)
  const rangeEnd = o.prefix ? prefixEnd(k) : o.rangeEnd === undefined ? undefined : toBytes(o.rangeEnd)
  return { key: k, rangeEnd }
}

/**
 * A random lease ID, so a retried grant can tell its own lease from a new one: any positive
 * int64, as etcd and Lattice accept.
 */
const MAX_LEASE_ID = 2n ** 63n - 1n
const randomLeaseId = (): bigint => {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2)) as unknown as [number, number]
  return (((BigInt(hi) << 32n) | BigInt(lo)) % MAX_LEASE_ID) + 1n
}

export class LatticeClient {
  readonly endpoints: Endpoints
  readonly policy: RetryPolicy
  readonly clock: SdkClock
  readonly clientId: string
  private readonly retryWrites: boolean
  private requestSeq = 0
  private readonly closing = new AbortController()

  constructor(options: ClientOptions) {
    this.endpoints = new Endpoints(options.endpoints, options.credentials)
    this.policy = validateRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry })
    this.clock = options.clock ?? systemClock
    this.clientId = options.clientId ?? randomUUID()
    this.retryWrites = options.retryWrites ?? true
  }

  /** Aborts when the client closes: long-running helpers (watches, keep-alives) stop on it. */
  get closed(): AbortSignal {
    return this.closing.signal
  }

  close(): void {
    this.closing.abort()
    this.endpoints.close()
  }

  /**
   * One unary RPC with failover and retries. `repeat` says whether a transient failure may be
   * retried; `onRetryError` may turn the answer to a retry into a result (lease grant/revoke).
   */
  async call<Req, Res>(
    method: MethodDescriptor<Req, Res>,
    req: Req,
    repeat: Repeat,
    options: CallOptions & {
      onRetryError?: (e: LatticeClientError) => Res | Promise<Res> | undefined
      /** Calls that wait by design (Lock, Campaign) pass Infinity: only `signal` ends them. */
      attemptTimeoutMs?: number
    } = {},
  ): Promise<Res> {
    const metadata = new grpc.Metadata()
    if (repeat === "keyed") {
      metadata.set(CLIENT_ID_HEADER, this.clientId)
      metadata.set(REQUEST_ID_HEADER, String(++this.requestSeq))
    }
    const retriable = repeat === "safe" || (repeat === "keyed" && this.retryWrites)
    const started = this.clock.now()
    let last: LatticeClientError | undefined
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (attempt > 1) {
        await this.clock.sleep(backoffMs(this.policy, attempt), options.signal)
      }
      if (options.signal?.aborted) throw new LatticeClientError(GrpcCode.CANCELLED, "lattice: call aborted")
      if (this.closing.signal.aborted)
        throw new LatticeClientError(GrpcCode.CANCELLED, "lattice: client closed")
      const ep = this.endpoints.current()
      try {
        const timeout = options.attemptTimeoutMs ?? this.policy.attemptTimeoutMs
        return await this.attempt(ep.channel, method, req, metadata, timeout, options.signal)
      } catch (err) {
        const e = toClientError(err, ep.address)
        if (attempt > 1 && options.onRetryError !== undefined) {
          const recovered = await options.onRetryError(e)
          if (recovered !== undefined) return recovered
        }
        if (isTransient(e)) this.endpoints.failover(ep.address)
        if (!retriable || !isTransient(e) || options.signal?.aborted) throw e
        last = e
        if (this.clock.now() - started >= this.policy.totalTimeoutMs) break
      }
    }
    throw new LatticeClientError(
      last?.code ?? GrpcCode.UNAVAILABLE,
      `lattice: ${method.name} failed on every attempt (${this.endpoints.all.join(", ")}): ${last?.message ?? "no attempt made"}`,
      last?.endpoint,
    )
  }

  private attempt<Req, Res>(
    channel: grpc.Client,
    method: MethodDescriptor<Req, Res>,
    req: Req,
    metadata: grpc.Metadata,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const call = channel.makeUnaryRequest(
        method.path,
        (m: Req) => {
          const u = method.request.encode(m)
          return Buffer.from(u.buffer, u.byteOffset, u.length)
        },
        (b: Buffer) => method.response.decode(b),
        req,
        metadata,
        // grpc-js takes a wall-clock deadline.
        {
          deadline: Number.isFinite(timeoutMs) ? new Date(Date.now() + timeoutMs) : Number.POSITIVE_INFINITY,
        },
        (err, res) => {
          signal?.removeEventListener("abort", cancel)
          if (err !== null) reject(err)
          else resolve(res!)
        },
      )
      function cancel() {
        call.cancel()
      }
      signal?.addEventListener("abort", cancel, { once: true })
    })
  }

  // --- KV ---

  range(req: pb.RangeRequest, options: CallOptions = {}): Promise<pb.RangeResponse> {
    return this.call(pb.KVService.Range, req, "safe", options)
  }

  async get(
    key: Bytes,
    o: GetOptions = {},
  ): Promise<{ revision: bigint; kvs: pb.KeyValue[]; more: boolean; count: bigint }> {
    const res = await this.range(
      {
        ...rangeOf(key, o),
        revision: o.revision,
        limit: o.limit === undefined ? undefined : BigInt(o.limit),
        keysOnly: o.keysOnly,
        countOnly: o.countOnly,
        serializable: o.serializable,
      },
      o,
    )
    return {
      revision: res.header?.revision ?? 0n,
      kvs: res.kvs ?? [],
      more: res.more ?? false,
      count: res.count ?? 0n,
    }
  }

  async put(
    key: Bytes,
    value: Bytes,
    o: PutOptions = {},
  ): Promise<{ revision: bigint; prevKv?: pb.KeyValue }> {
    const res = await this.call(
      pb.KVService.Put,
      { key: toBytes(key), value: toBytes(value), lease: o.lease, prevKv: o.prevKv },
      "keyed",
      o,
    )
    return { revision: res.header?.revision ?? 0n, prevKv: res.prevKv }
  }

  async delete(
    key: Bytes,
    o: DeleteOptions = {},
  ): Promise<{ revision: bigint; deleted: bigint; prevKvs: pb.KeyValue[] }> {
    const res = await this.call(
      pb.KVService.DeleteRange,
      { ...rangeOf(key, o), prevKv: o.prevKv },
      "keyed",
      o,
    )
    return { revision: res.header?.revision ?? 0n, deleted: res.deleted ?? 0n, prevKvs: res.prevKvs ?? [] }
  }

  /** A transaction; retried after ambiguous failures with its idempotency key, so it applies once. */
  txn(req: pb.TxnRequest, options: CallOptions = {}): Promise<pb.TxnResponse> {
    return this.call(pb.KVService.Txn, req, "keyed", options)
  }

  /** Compacts history up to `revision`; a retry that finds it already compacted succeeds. */
  compact(revision: bigint, options: CallOptions = {}): Promise<pb.CompactionResponse> {
    return this.call(pb.KVService.Compact, { revision }, "safe", {
      ...options,
      onRetryError: (e) => (e.code === GrpcCode.OUT_OF_RANGE && /compacted/.test(e.message) ? {} : undefined),
    })
  }

  status(options: CallOptions = {}): Promise<pb.StatusResponse> {
    return this.call(pb.MaintenanceService.Status, {}, "safe", options)
  }

  // --- Leases ---

  /**
   * Grants a lease of `ttlSeconds`. The client picks the ID (random, unless given) so a retry
   * after an ambiguous failure recognizes its own lease ("lease already exists") instead of
   * leaking a second one.
   */
  async grant(
    ttlSeconds: number | bigint,
    options: CallOptions & { id?: bigint } = {},
  ): Promise<{ id: bigint; ttl: bigint }> {
    const id = options.id ?? randomLeaseId()
    const ttl = BigInt(ttlSeconds)
    if (ttl <= 0n) throw new RangeError(`lattice: lease TTL must be at least 1 second, got ${ttlSeconds}`)
    const res = await this.call<pb.LeaseGrantRequest, pb.LeaseGrantResponse>(
      pb.LeaseService.LeaseGrant,
      { TTL: ttl, ID: id },
      "safe",
      {
        ...options,
        onRetryError: (e) =>
          e.code === GrpcCode.FAILED_PRECONDITION && /lease already exists/.test(e.message)
            ? { ID: id, TTL: ttl }
            : undefined,
      },
    )
    if (res.error !== undefined && res.error !== "") throw new LatticeClientError(GrpcCode.UNKNOWN, res.error)
    return { id: res.ID ?? id, ttl: res.TTL ?? ttl }
  }

  /** Revokes the lease and deletes its keys; revoking a lease that is already gone is not an error on retry. */
  async revoke(id: bigint, options: CallOptions = {}): Promise<void> {
    await this.call(pb.LeaseService.LeaseRevoke, { ID: id }, "safe", {
      ...options,
      onRetryError: (e) => (e.code === GrpcCode.NOT_FOUND ? {} : undefined),
    })
  }

  /** Remaining TTL in seconds (-1 when the lease does not exist). */
  async timeToLive(
    id: bigint,
    options: CallOptions & { keys?: boolean } = {},
  ): Promise<{ ttl: bigint; grantedTTL: bigint; keys: Uint8Array[] }> {
    const r = await this.call(
      pb.LeaseService.LeaseTimeToLive,
      { ID: id, keys: options.keys },
      "safe",
      options,
    )
    return { ttl: r.TTL ?? -1n, grantedTTL: r.grantedTTL ?? 0n, keys: r.keys ?? [] }
  }

  async leases(options: CallOptions = {}): Promise<bigint[]> {
    const r = await this.call(pb.LeaseService.LeaseLeases, {}, "safe", options)
    return (r.leases ?? []).map((l) => l.ID ?? 0n)
  }

  /** Renews `id` once (one LeaseKeepAlive round trip); returns the TTL, 0 when the lease is gone. */
  async renew(id: bigint, options: CallOptions = {}): Promise<bigint> {
    const started = this.clock.now()
    for (let attempt = 1; ; attempt++) {
      const ep = this.endpoints.current()
      const stream = openBidi(ep.channel, ep.address, pb.LeaseService.LeaseKeepAlive)
      const cancel = () => stream.cancel()
      options.signal?.addEventListener("abort", cancel, { once: true })
      try {
        stream.write({ ID: id })
        const timeout = new AbortController()
        const timer = this.clock.sleep(this.policy.attemptTimeoutMs, timeout.signal).then(() => {
          if (!timeout.signal.aborted)
            throw new LatticeClientError(
              GrpcCode.DEADLINE_EXCEEDED,
              "lattice: keep-alive got no answer in time",
            )
          return undefined
        })
        const first = await Promise.race([stream[Symbol.asyncIterator]().next(), timer]).finally(() =>
          timeout.abort(),
        )
        if (first === undefined) throw new LatticeClientError(GrpcCode.CANCELLED, "lattice: call aborted")
        if (first.done) throw new LatticeClientError(GrpcCode.UNAVAILABLE, "lattice: keep-alive stream ended")
        return first.value.TTL ?? 0n
      } catch (err) {
        const e = toClientError(err, ep.address)
        if (!isTransient(e) || options.signal?.aborted) throw e
        this.endpoints.failover(ep.address)
        if (attempt >= this.policy.maxAttempts || this.clock.now() - started >= this.policy.totalTimeoutMs)
          throw e
        await this.clock.sleep(backoffMs(this.policy, attempt + 1), options.signal)
      } finally {
        options.signal?.removeEventListener("abort", cancel)
        stream.cancel()
      }
    }
  }

  /** Keeps `id` alive until `close()`; `lost` settles if the lease expires or cannot be renewed in time. */
  keepAlive(id: bigint, ttlSeconds: bigint, options: { intervalMs?: number } = {}): KeepAlive {
    return new KeepAlive(this, id, ttlSeconds, options.intervalMs)
  }

  // --- Elections and locks (the server-side v3election / v3lock services) ---

  /**
   * Waits until `lease`'s key "<name>/<lease hex>" is the oldest under "<name>/", then answers
   * with the lock key and its fencing token. Not retried here: after a transient failure the
   * `lock` recipe removes its key and queues again (recipes.ts explains why).
   */
  lockRpc(name: Bytes, lease: bigint, options: CallOptions = {}): Promise<pb.LockResponse> {
    return this.call(pb.LockService.Lock, { name: toBytes(name), lease }, "never", {
      ...options,
      attemptTimeoutMs: Number.POSITIVE_INFINITY,
    })
  }

  unlockRpc(key: Uint8Array, options: CallOptions = {}): Promise<pb.UnlockResponse> {
    return this.call(pb.LockService.Unlock, { key }, "safe", options)
  }

  /** Waits until elected; answers with the leader key to hand to proclaim and resign. */
  campaign(
    name: Bytes,
    lease: bigint,
    value: Bytes,
    options: CallOptions = {},
  ): Promise<pb.CampaignResponse> {
    return this.call(
      pb.ElectionService.Campaign,
      { name: toBytes(name), lease, value: toBytes(value) },
      "never",
      {
        ...options,
        attemptTimeoutMs: Number.POSITIVE_INFINITY,
      },
    )
  }

  proclaim(leader: pb.LeaderKey, value: Bytes, options: CallOptions = {}): Promise<pb.ProclaimResponse> {
    // Idempotent: a compare-guarded put of the same value.
    return this.call(pb.ElectionService.Proclaim, { leader, value: toBytes(value) }, "safe", options)
  }

  /** The current leader's key-value; fails with "election: no leader" when there is none. */
  leader(name: Bytes, options: CallOptions = {}): Promise<pb.LeaderResponse> {
    return this.call(pb.ElectionService.Leader, { name: toBytes(name) }, "safe", options)
  }

  resign(leader: pb.LeaderKey, options: CallOptions = {}): Promise<pb.ResignResponse> {
    // Idempotent: a compare-guarded delete.
    return this.call(pb.ElectionService.Resign, { leader }, "safe", options)
  }

  /**
   * The election's leader now and after each change (Observe stream), reopened on the next
   * endpoint after a transient failure (the current leader is then reported again).
   */
  async *observe(name: Bytes, signal: AbortSignal): AsyncGenerator<pb.LeaderResponse> {
    for (let failures = 0; !signal.aborted && !this.closing.signal.aborted; ) {
      const ep = this.endpoints.current()
      const stream = openServerStream(ep.channel, ep.address, pb.ElectionService.Observe, {
        name: toBytes(name),
      })
      const cancel = () => stream.cancel()
      signal.addEventListener("abort", cancel, { once: true })
      try {
        for await (const res of stream) {
          failures = 0
          yield res
        }
        if (signal.aborted) return
        throw new LatticeClientError(GrpcCode.UNAVAILABLE, "lattice: observe stream ended by the server")
      } catch (err) {
        const e = toClientError(err, ep.address)
        if (signal.aborted) return
        if (!isTransient(e)) throw e
        this.endpoints.failover(ep.address)
        await this.clock.sleep(backoffMs(this.policy, ++failures + 1), signal)
      } finally {
        signal.removeEventListener("abort", cancel)
        stream.cancel()
      }
    }
  }

  // --- Watch ---

  /** Watches `key` (or a prefix/range); resumes from the last revision + 1 across reconnects. */
  watch(key: Bytes, options: WatchOptions = {}): Watcher {
    return new Watcher(this, { ...options, ...rangeOf(key, options) })
  }
}

export const connect = (options: ClientOptions): LatticeClient => new LatticeClient(options)
