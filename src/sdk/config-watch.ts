/**
 * A live copy of every key under a prefix: read them all, then watch from that read's revision
 * + 1. The watch resumes across reconnects by itself (watch.ts); if history was compacted past
 * the point it must resume from, the copy is read again and the watch restarts from there, so
 * the copy is never missing an update for longer than that re-read.
 */
import * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { type Bytes, text, toBytes } from "./bytes.ts"
import type { LatticeClient } from "./client.ts"
import { WatchCompactedError } from "./errors.ts"

export interface ConfigSnapshot {
  /** Key (UTF-8, prefix included) → value (UTF-8). */
  readonly values: ReadonlyMap<string, string>
  /** Every change up to this revision is in `values`. */
  readonly revision: bigint
}

export interface ConfigWatchOptions {
  /** Called with the first full read, then after each batch of changes. */
  readonly onChange: (snapshot: ConfigSnapshot) => void
  /** Called when the copy had to be re-read (history compacted while disconnected). */
  readonly onResync?: (compactRevision: bigint) => void
  readonly signal?: AbortSignal
}

export class ConfigWatch {
  private values = new Map<string, string>()
  private rev = 0n
  /** Resolves after the first full read has been delivered. */
  readonly ready: Promise<void>
  /** Resolves when the watch is closed; rejects on a failure that retries cannot fix. */
  readonly done: Promise<void>
  private markReady!: () => void
  private readonly stop = new AbortController()
  /** Full re-reads after compaction (for tests and logs). */
  resyncs = 0

  constructor(
    private readonly client: LatticeClient,
    private readonly prefix: Uint8Array,
    private readonly options: ConfigWatchOptions,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve))
    options.signal?.addEventListener("abort", () => this.close(), { once: true })
    this.done = this.run()
    this.done.catch(() => this.markReady())
  }

  snapshot(): ConfigSnapshot {
    return { values: new Map(this.values), revision: this.rev }
  }

  close(): void {
    this.stop.abort()
    this.markReady()
  }

  private emit(): void {
    this.options.onChange(this.snapshot())
  }

  private async run(): Promise<void> {
    try {
      await this.follow()
    } catch (err) {
      if (!this.stop.signal.aborted) throw err
    }
  }

  private async follow(): Promise<void> {
    while (!this.stop.signal.aborted && !this.client.closed.aborted) {
      const res = await this.client.get(this.prefix, { prefix: true, signal: this.stop.signal })
      this.values = new Map(res.kvs.map((kv) => [text(kv.key), text(kv.value)]))
      this.rev = res.revision
      this.emit()
      this.markReady()
      const w = this.client.watch(this.prefix, { prefix: true, startRevision: res.revision + 1n })
      const close = () => w.close()
      this.stop.signal.addEventListener("abort", close, { once: true })
      try {
        for await (const batch of w) {
          for (const e of batch.events) {
            const key = text(e.kv?.key)
            if ((e.type ?? 0) === pb.Event_EventType.DELETE) this.values.delete(key)
            else this.values.set(key, text(e.kv?.value))
          }
          this.rev = batch.revision
          if (batch.events.length > 0) this.emit()
        }
        return
      } catch (err) {
        if (!(err instanceof WatchCompactedError)) throw err
        this.resyncs++
        this.options.onResync?.(err.compactRevision)
      } finally {
        this.stop.signal.removeEventListener("abort", close)
        w.close()
      }
    }
  }
}

export const watchConfig = (client: LatticeClient, prefix: Bytes, options: ConfigWatchOptions): ConfigWatch =>
  new ConfigWatch(client, toBytes(prefix), options)
