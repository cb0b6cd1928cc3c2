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

/** A random positive int63 lease ID, so a retried grant can tell its own lease from a new one. */
const randomLeaseId = (): bigint => {
  const b = crypto.getRandomValues(new BigUint64Array(1))[0]!
  const id = b & 0x7fff_ffff_ffff_ffffn
  return id === 0n ? 1n : id
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
    options: CallOptions & { onRetryError?: (e: LatticeClientError) => Res | Promise<Res> | undefined } = {},
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
        return await this.attempt(ep.channel, method, req, metadata, options.signal)
      } catch (err) {
        const e = toClientError(err, ep.address)
        if (attempt > 1 && options.onRetryError !== undefined) {
          const recovered = await options.onRetryError(e)
          if (recovered !== undefined) return recovered
        }
        if (!retriable || !isTransient(e) || options.signal?.aborted) throw e
        last = e
        this.endpoints.failover(ep.address)
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
        { deadline: new Date(Date.now() + this.policy.attemptTimeoutMs) },
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

  /** Keeps `id` alive until `close()`; `lost` settles if the lease expires or cannot be renewed in time. */
  keepAlive(id: bigint, ttlSeconds: bigint): KeepAlive {
    return new KeepAlive(this, id, ttlSeconds)
  }

  // --- Watch ---

  /** Watches `key` (or a prefix/range); resumes from the last revision + 1 across reconnects. */
  watch(key: Bytes, options: WatchOptions = {}): Watcher {
    return new Watcher(this, { ...options, ...rangeOf(key, options) })
  }
}

export const connect = (options: ClientOptions): LatticeClient => new LatticeClient(options)
