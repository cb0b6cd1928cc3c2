/**
 * A watch that survives reconnects: when the stream fails (node stopped, drained, overflowed) it
 * is reopened on the next endpoint from the last delivered revision + 1, so the consumer sees
 * every event once and in order. A start revision that was compacted meanwhile ends the watch
 * with WatchCompactedError: re-read, then watch again from that read's revision + 1.
 */
import { AsyncQueue } from "../adapters/etcd/async-queue.ts"
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { type BidiStream, openBidi } from "./bidi.ts"
import type { Bytes } from "./bytes.ts"
import type { LatticeClient } from "./client.ts"
import { LatticeClientError, toClientError, WatchCompactedError } from "./errors.ts"
import { backoffMs, isTransient } from "./retry.ts"

export interface WatchOptions {
  readonly prefix?: boolean
  readonly rangeEnd?: Bytes
  /** First revision to deliver; default: whatever happens after the watch is created. */
  readonly startRevision?: bigint
  readonly prevKv?: boolean
  /** Ask the server for periodic progress notifications (empty batches with `progress` set). */
  readonly progressNotify?: boolean
  readonly filters?: readonly pb.WatchCreateRequest_FilterType[]
}

export interface WatchBatch {
  /** The revision this batch brings the watcher up to. */
  readonly revision: bigint
  readonly events: pb.Event[]
  /** No events: a bookmark saying every event up to `revision` was delivered. */
  readonly progress: boolean
}

interface ResolvedSpec extends WatchOptions {
  readonly key: Uint8Array
  readonly rangeEnd: Uint8Array | undefined
}

export class Watcher implements AsyncIterable<WatchBatch> {
  private readonly out = new AsyncQueue<WatchBatch>()
  private stream: BidiStream<pb.WatchRequest, pb.WatchResponse> | undefined
  private closed = false
  /** Next revision to ask for on (re)connect; undefined until the first created response. */
  private next: bigint | undefined
  /** Resolves once the first watch is registered on a server. */
  readonly ready: Promise<void>
  private markReady!: () => void
  /** Reconnections so far (for tests and metrics). */
  reconnects = 0

  constructor(
    private readonly client: LatticeClient,
    private readonly spec: ResolvedSpec,
  ) {
    this.next = spec.startRevision !== undefined && spec.startRevision > 0n ? spec.startRevision : undefined
    this.ready = new Promise((resolve) => (this.markReady = resolve))
    client.closed.addEventListener("abort", () => this.close(), { once: true })
    void this.run()
  }

  /** The revision the next (re)connect would start from. */
  get nextRevision(): bigint | undefined {
    return this.next
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.stream?.cancel()
    this.out.close()
    this.markReady()
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
    return this.out[Symbol.asyncIterator]()
  }

  private fail(e: unknown): void {
    if (this.closed) return
    this.closed = true
    this.stream?.cancel()
    this.out.fail(e)
    this.markReady()
  }

  /** Consumes one stream until it ends; returns normally when it should be reopened. */
  private async consume(stream: BidiStream<pb.WatchRequest, pb.WatchResponse>): Promise<void> {
    for await (const res of stream) {
      if (this.closed) return
      const revision = res.header?.revision ?? 0n
      if (res.canceled) {
        if ((res.compactRevision ?? 0n) > 0n) return this.fail(new WatchCompactedError(res.compactRevision!))
        if (res.created && !this.isRetriableCancel(res.cancelReason ?? "")) {
          return this.fail(new LatticeClientError(3, `lattice: watch refused: ${res.cancelReason ?? ""}`))
        }
        // Cancelled by the server for a reason clients act on (drain, overflow): resume elsewhere.
        throw new LatticeClientError(14, `lattice: watch cancelled: ${res.cancelReason ?? "no reason given"}`)
      }
      if (res.created) {
        if (this.next === undefined) this.next = revision + 1n
        this.markReady()
        continue
      }
      const events = res.events ?? []
      if (events.length > 0) {
        this.next = (events[events.length - 1]!.kv?.modRevision ?? revision) + 1n
        this.out.push({ revision: this.next - 1n, events, progress: false })
      } else if (revision > 0n && this.next !== undefined && revision + 1n >= this.next) {
        this.next = revision + 1n
        this.out.push({ revision, events: [], progress: true })
      }
    }
  }

  private isRetriableCancel(reason: string): boolean {
    return reason === "" || /reconnect|drain|overflow|leader/i.test(reason)
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.closed && !this.client.closed.aborted) {
      const ep = this.client.endpoints.current()
      const stream = openBidi(ep.channel, ep.address, pb.WatchService.Watch)
      this.stream = stream
      stream.write({
        createRequest: {
          key: this.spec.key,
          rangeEnd: this.spec.rangeEnd,
          startRevision: this.next,
          prevKv: this.spec.prevKv,
          progressNotify: this.spec.progressNotify,
          filters: this.spec.filters === undefined ? undefined : [...this.spec.filters],
        },
      })
      try {
        await this.consume(stream)
        if (this.closed) return
        // The server ended the stream without an error: reconnect as after a failure.
        throw new LatticeClientError(14, "lattice: watch stream ended by the server")
      } catch (err) {
        if (this.closed) return
        const e = toClientError(err, ep.address)
        if (!isTransient(e) && e.code !== 1) return this.fail(e)
        stream.cancel()
        this.client.endpoints.failover(ep.address)
        this.reconnects++
        failures = this.next === undefined ? failures + 1 : 1
        await this.client.clock.sleep(backoffMs(this.client.policy, failures + 1), this.client.closed)
      }
    }
  }
}
