/**
 * A failover etcd watch client for tests, in the style of clientv3: many watchers multiplexed on
 * one gRPC Watch stream (client-chosen ids), and when the stream breaks (its member was killed),
 * a new stream on the next endpoint re-creates every watcher from its last delivered revision + 1.
 * It records what each watcher saw as `WatchRun`s for the watch validators.
 */
import * as grpc from "@grpc/grpc-js"
import * as pb from "../../src/adapters/etcd/proto/etcd.gen.ts"
import {
  concatRuns,
  type Observation,
  type ObservedEvent,
  type WatchRun,
  type WatchRunSpec,
} from "./watch-validators.ts"

const te = new TextEncoder()
const td = new TextDecoder()

const toObserved = (e: pb.Event): ObservedEvent => ({
  type: (e.type ?? 0) === pb.Event_EventType.PUT ? "put" : "delete",
  key: td.decode(e.kv?.key ?? new Uint8Array()),
  value: td.decode(e.kv?.value ?? new Uint8Array()),
  modRevision: Number(e.kv?.modRevision ?? 0n),
  ...(e.prevKv === undefined
    ? {}
    : {
        prevKv: {
          value: td.decode(e.prevKv.value ?? new Uint8Array()),
          modRevision: Number(e.prevKv.modRevision ?? 0n),
        },
      }),
})

interface WatcherState {
  readonly spec: WatchRunSpec
  readonly sessions: WatchRun[]
  current: Observation[]
  start: number
  last: number
  compacted: boolean
}

export class FailoverWatchClient {
  private readonly watchers: WatcherState[]
  private endpointIndex: number
  private call: grpc.ClientDuplexStream<pb.WatchRequest, pb.WatchResponse> | undefined
  private client: grpc.Client | undefined
  private closed = false
  private readonly waiters = new Set<() => void>()
  /** Streams opened (1 + reconnects). */
  streams = 0

  constructor(
    private readonly endpoints: readonly string[],
    specs: readonly WatchRunSpec[],
    firstEndpoint = 0,
  ) {
    this.endpointIndex = firstEndpoint % endpoints.length
    this.watchers = specs.map((spec) => ({
      spec,
      sessions: [],
      current: [],
      start: spec.startRevision,
      last: spec.startRevision - 1,
      compacted: false,
    }))
    this.open()
  }

  /** The highest revision every watcher is known to have reached (its last event or bookmark). */
  lastRevision(i: number): number {
    return this.watchers[i]!.last
  }

  /** Resolves once `done` holds (checked after each response), or rejects after `ms`. */
  async until(done: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`watch client: timed out waiting for ${what}`)
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve)
        setTimeout(resolve, 50)
      })
    }
  }

  /** Asks the server for a progress notification (a bookmark for every watcher of the stream). */
  requestProgress(): void {
    this.call?.write({ progressRequest: {} })
  }

  /** Each watcher's sessions joined into one run, plus resumption violations. */
  runs(reachedRevision?: number): { run: WatchRun; violations: string[] }[] {
    return this.watchers.map((w) => {
      const sessions = [
        ...w.sessions,
        { spec: { ...w.spec, startRevision: w.start }, observations: w.current },
      ]
      let acc: WatchRun = sessions[0]!
      const violations: string[] = []
      for (const next of sessions.slice(1)) {
        const joined = concatRuns(acc, next)
        violations.push(...joined.violations)
        acc = joined.run
      }
      return { run: reachedRevision === undefined ? acc : { ...acc, reachedRevision }, violations }
    })
  }

  close(): void {
    this.closed = true
    this.call?.cancel()
    this.client?.close()
  }

  private open(): void {
    if (this.closed) return
    this.streams++
    const endpoint = this.endpoints[this.endpointIndex]!
    this.client?.close()
    const client = new grpc.Client(endpoint, grpc.credentials.createInsecure())
    this.client = client
    const call = client.makeBidiStreamRequest(
      pb.WatchService.Watch.path,
      (m: pb.WatchRequest) => Buffer.from(pb.encodeWatchRequest(m)),
      (b: Buffer) => pb.decodeWatchResponse(b),
    )
    this.call = call
    let broken = false
    const reconnect = () => {
      if (broken || this.closed) return
      broken = true
      // Each watcher resumes right after what it got: a new session from last + 1.
      for (const w of this.watchers) {
        w.sessions.push({ spec: { ...w.spec, startRevision: w.start }, observations: w.current })
        w.current = []
        w.start = w.last + 1
      }
      this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length
      setTimeout(() => this.open(), 100)
    }
    call.on("data", (r: pb.WatchResponse) => this.onResponse(r))
    call.on("error", reconnect)
    call.on("end", reconnect)
    this.watchers.forEach((w, i) => {
      if (w.compacted) return
      call.write({
        createRequest: {
          key: te.encode(w.spec.key),
          ...(w.spec.rangeEnd === undefined
            ? {}
            : { rangeEnd: w.spec.rangeEnd === "" ? new Uint8Array([0]) : te.encode(w.spec.rangeEnd) }),
          startRevision: BigInt(w.start),
          prevKv: w.spec.prevKv === true,
          watchId: BigInt(i + 1),
          filters: [
            ...(w.spec.noPut ? [pb.WatchCreateRequest_FilterType.NOPUT] : []),
            ...(w.spec.noDelete ? [pb.WatchCreateRequest_FilterType.NODELETE] : []),
          ],
        },
      })
    })
  }

  private onResponse(r: pb.WatchResponse): void {
    const id = Number(r.watchId ?? 0n)
    const revision = Number(r.header?.revision ?? 0n)
    if (id === -1 && r.created !== true) {
      for (const w of this.watchers) w.current.push({ kind: "progress", revision })
    } else if (r.created !== true) {
      const w = this.watchers[id - 1]
      if (w !== undefined) {
        if (r.compactRevision !== undefined && r.compactRevision !== 0n) {
          w.compacted = true
          w.current.push({ kind: "compacted", compactRevision: Number(r.compactRevision) })
        } else if (r.events !== undefined && r.events.length > 0) {
          const events = r.events.map(toObserved)
          w.current.push({
            kind: "events",
            revision,
            events,
            ...(r.fragment === true ? { fragment: true } : {}),
          })
          w.last = Math.max(w.last, ...events.map((e) => e.modRevision))
        } else if (r.canceled !== true) {
          w.current.push({ kind: "progress", revision })
        }
      }
    }
    for (const wake of [...this.waiters]) wake()
    this.waiters.clear()
  }
}
