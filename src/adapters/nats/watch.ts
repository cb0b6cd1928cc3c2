/**
 * Watches over core NATS (docs/nats-api.md, "Watch"). A client subscribes to a subject of its
 * own, then asks `lattice.<cluster>.watch.create` (queue group: any node answers) to publish a
 * watch there. Each message carries `seq` (1, 2, …) so a lost message shows as a gap; the client
 * then creates the watch again from its last revision + 1, which the MVCC history serves exactly,
 * on any node. The watch lives while the client sends keepalives to its `control` subject (on
 * the node that serves it); a node that stops cancels its watches with a reason telling clients
 * to do the same: create again elsewhere.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node"
import { Duration, Effect, Schedule, Schema, type Scope } from "effect"
import * as api from "../../../schemas/nats-api.ts"
import * as nw from "../../../schemas/nats-watch.ts"
import type { EtcdBackend, WatchHandle } from "../etcd/backend.ts"
import * as pb from "../etcd/proto/etcd.gen.ts"
import { normalizeWatchCreate } from "../etcd/watch-stream.ts"
import { headerFromPb, kvFromPb } from "./from-pb.ts"
import { errorJson } from "./handle-request.ts"

export const watchCreateSubject = (cluster: string): string => `lattice.${cluster}.watch.create`
export const watchQueueGroup = (cluster: string): string => `lattice.${cluster}.watch`
export const watchControlSubject = (cluster: string, member: string, id: bigint): string =>
  `lattice.${cluster}.watch.ctl.${member}.${id}`

export const NODE_STOPPING_REASON =
  "lattice: node stopping, create the watch again from your last revision + 1"
export const KEEPALIVE_MISSED_REASON = "lattice: no keepalive within keepalive_ms, watch cancelled"

interface NatsWatch {
  readonly id: bigint
  readonly subject: string
  readonly keepaliveMs: number
  handle: WatchHandle | undefined
  seq: number
  idleMs: number
  active: boolean
}

const CHECK_EVERY_MS = 1000

export const serveNatsWatches = (
  nc: NatsConnection,
  cluster: string,
  backend: EtcdBackend,
): Effect.Effect<
  { readonly subjects: readonly string[]; readonly active: () => number },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const engine = backend.watches
    if (engine === undefined) return { subjects: [], active: () => 0 }
    const member = backend.identity().memberId.toString(16)
    const watches = new Map<bigint, NatsWatch>()
    let nextId = 1n
    const header = (revision: bigint): api.ResponseHeader => {
      const id = backend.identity()
      return headerFromPb({ clusterId: id.clusterId, memberId: id.memberId, revision, raftTerm: id.raftTerm })
    }
    const encodeMessage = Schema.encodeSync(nw.WatchMessage)
    const publish = (w: NatsWatch, message: Omit<nw.WatchMessage, "watch_id" | "seq">): void => {
      if (nc.isClosed()) return
      w.seq++
      try {
        nc.publish(w.subject, JSON.stringify(encodeMessage({ watch_id: w.id, seq: w.seq, ...message })))
      } catch {
        // The connection is closing: the client sees keepalives fail and re-creates the watch.
      }
    }
    const end = (w: NatsWatch): void => {
      w.active = false
      w.handle?.cancel()
      watches.delete(w.id)
    }
    const toEvent = (e: pb.Event): nw.WatchEvent => ({
      type: (e.type ?? 0) === pb.Event_EventType.PUT ? "PUT" : "DELETE",
      kv: kvFromPb(e.kv ?? {}),
      ...(e.prevKv === undefined ? {} : { prev_kv: kvFromPb(e.prevKv) }),
    })

    const create = (text: string): string => {
      const req = api.decodeJson(nw.WatchCreateRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      const r = req.value
      const current = backend.identity().revision
      const { spec, keep } = normalizeWatchCreate(
        {
          key: r.key,
          ...(r.range_end === undefined ? {} : { rangeEnd: r.range_end }),
          ...(r.start_revision === undefined ? {} : { startRevision: r.start_revision }),
          prevKv: r.prev_kv === true,
          progressNotify: r.progress_notify === true,
          filters: (r.filters ?? []).map((f) =>
            f === "NOPUT"
              ? pb.WatchCreateRequest_FilterType.NOPUT
              : pb.WatchCreateRequest_FilterType.NODELETE,
          ),
        },
        current,
      )
      const w: NatsWatch = {
        id: nextId++,
        subject: r.subject,
        keepaliveMs: r.keepalive_ms ?? nw.DEFAULT_WATCH_KEEPALIVE_MS,
        handle: undefined,
        seq: 0,
        idleMs: 0,
        active: true,
      }
      watches.set(w.id, w)
      const reply = JSON.stringify(
        Schema.encodeSync(nw.WatchCreated)({
          header: header(current),
          watch_id: w.id,
          control: watchControlSubject(cluster, member, w.id),
          keepalive_ms: w.keepaliveMs,
        }),
      )
      // Events are published only after the reply is sent (see onCreate).
      queueMicrotask(() => {
        if (!w.active) return
        w.handle = engine.watch(spec, {
          events: (revision, events) => {
            const kept = events.filter(keep)
            if (w.active && kept.length > 0)
              publish(w, { header: header(revision), events: kept.map(toEvent) })
          },
          compacted: (compactRevision) => {
            if (!w.active) return
            publish(w, { header: header(0n), compact_revision: compactRevision, canceled: true })
            end(w)
          },
          progress: (revision) => {
            if (w.active) publish(w, { header: header(revision), progress: true })
          },
          cancelled: (reason) => {
            if (!w.active) return
            publish(w, { header: header(backend.identity().revision), canceled: true, cancel_reason: reason })
            end(w)
          },
          // Core NATS gives no per-subscriber backlog; a slow consumer loses messages instead,
          // which `seq` reveals to the client.
          backlog: () => 0,
        })
      })
      return reply
    }

    const control = (id: bigint, text: string): string => {
      const req = api.decodeJson(nw.WatchControlRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      const w = watches.get(id)
      if (w === undefined)
        return errorJson(
          "NOT_FOUND",
          `lattice: no watch ${id} on this node, create it again from your last revision + 1`,
        )
      const replyWith = (revision: bigint) =>
        JSON.stringify(Schema.encodeSync(nw.WatchControlReply)({ header: header(revision), watch_id: id }))
      w.idleMs = 0
      switch (req.value.op) {
        case "keepalive":
          return replyWith(backend.identity().revision)
        case "progress": {
          const bookmark = w.handle?.progressRevision?.() ?? 0n
          publish(w, { header: header(bookmark), progress: true })
          return replyWith(bookmark)
        }
        case "cancel":
          end(w)
          publish(w, { header: header(backend.identity().revision), canceled: true })
          return replyWith(backend.identity().revision)
      }
    }

    const respond = (msg: Msg, body: string) => {
      try {
        if (!nc.isClosed() && msg.reply !== undefined && msg.reply !== "") msg.respond(body)
      } catch {
        // The requester is gone or the connection is draining.
      }
    }
    const subs: Subscription[] = []
    const createSubject = watchCreateSubject(cluster)
    subs.push(
      nc.subscribe(createSubject, {
        queue: watchQueueGroup(cluster),
        callback: (err, msg) => {
          if (err === null) respond(msg, create(new TextDecoder().decode(msg.data)))
        },
      }),
    )
    const controlPrefix = `lattice.${cluster}.watch.ctl.${member}.`
    subs.push(
      nc.subscribe(`${controlPrefix}*`, {
        callback: (err, msg) => {
          if (err !== null) return
          let id: bigint
          try {
            id = BigInt(msg.subject.slice(controlPrefix.length))
          } catch {
            return respond(msg, errorJson("INVALID_ARGUMENT", `bad watch id in ${msg.subject}`))
          }
          respond(msg, control(id, new TextDecoder().decode(msg.data)))
        },
      }),
    )
    // Watches whose client stopped sending keepalives end (the client is gone).
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.sync(() => {
          for (const w of [...watches.values()]) {
            w.idleMs += CHECK_EVERY_MS
            if (w.idleMs <= w.keepaliveMs) continue
            publish(w, {
              header: header(backend.identity().revision),
              canceled: true,
              cancel_reason: KEEPALIVE_MISSED_REASON,
            })
            end(w)
          }
        }),
        Schedule.spaced(Duration.millis(CHECK_EVERY_MS)),
      ),
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const w of [...watches.values()]) {
          publish(w, {
            header: header(backend.identity().revision),
            canceled: true,
            cancel_reason: NODE_STOPPING_REASON,
          })
          end(w)
        }
        for (const s of subs) s.unsubscribe()
      }),
    )
    return { subjects: [createSubject, `${controlPrefix}*`], active: () => watches.size }
  })
