/** A WatchHub over a real state machine (temp SQLite), fed the way the apply loop feeds it. */
import { Effect, Exit, Scope } from "effect"
import {
  type HubWatch,
  type HubWatchSpec,
  WatchHub,
  type WatchHubOptions,
} from "../../../actors/watch-hub.ts"
import type { KvCommand } from "../../../schemas/kv.ts"
import { fromUtf8, utf8 } from "../../../src/kv/bytes.ts"
import type { KeySpan } from "../../../src/kv/store.ts"
import type { WatchEvent } from "../../../src/kv/watch/event.ts"
import { prefixEnd } from "../../../src/kv/watch/key-matcher.ts"
import { openFixture } from "../kv/helpers.ts"

export interface Recorded {
  readonly log: string[]
  /** Every event seen, as "type key=value@rev[<prev]". */
  readonly events: string[]
  readonly revisions: number[]
  backlog: number
  compacted?: number
  cancelled?: string
  progress: number[]
}

export const span = {
  one: (k: string): KeySpan => ({ kind: "one", key: utf8(k) }),
  prefix: (k: string): KeySpan => ({ kind: "between", key: utf8(k), end: prefixEnd(utf8(k))! }),
  between: (k: string, end: string): KeySpan => ({ kind: "between", key: utf8(k), end: utf8(end) }),
  from: (k: string): KeySpan => ({ kind: "from", key: utf8(k) }),
}

export const describeEvent = (e: WatchEvent): string =>
  `${e.type} ${fromUtf8(e.kv.key)}=${fromUtf8(e.kv.value)}@${e.kv.modRevision}${
    e.prevKv === undefined ? "" : `<${fromUtf8(e.prevKv.value)}@${e.prevKv.modRevision}`
  }`

export const makeHubFixture = async (options: Partial<WatchHubOptions> = {}) => {
  const fx = openFixture()
  const scope = Effect.runSync(Scope.make())
  const hub = await Effect.runPromise(
    WatchHub.make({ group: 1, source: () => fx.sm, syncIntervalMs: 10, ...options }),
  )
  await Effect.runPromise(Scope.extend(hub.run, scope))
  /** Applies a command and reports it to the hub, as the apply loop does. */
  const apply = (command: KvCommand, notify = true) => {
    const r = fx.sm.apply(fx.sm.appliedIndex + 1, command)
    if (notify && r.events.length > 0) hub.applied(r.revision, r.events)
    return r
  }
  const put = (key: string, value: string, notify = true) =>
    apply({ type: "put", request: { key: utf8(key), value: utf8(value) } }, notify)
  const del = (key: string, end?: string) =>
    apply({ type: "deleteRange", request: { key: utf8(key), ...(end ? { rangeEnd: utf8(end) } : {}) } })
  const watch = (spec: Partial<HubWatchSpec> & { span: KeySpan }): Recorded & { handle: HubWatch } => {
    const rec: Recorded = { log: [], events: [], revisions: [], backlog: 0, progress: [] }
    const handle = hub.watch(
      { tenant: "default", startRevision: fx.sm.revision + 1, prevKv: false, progressNotify: false, ...spec },
      {
        events: (revision, events) => {
          rec.revisions.push(revision)
          rec.log.push(`${revision}: ${events.map(describeEvent).join(", ")}`)
          for (const e of events) rec.events.push(describeEvent(e))
        },
        compacted: (c) => {
          rec.compacted = c
        },
        progress: (r) => {
          rec.progress.push(r)
        },
        cancelled: (reason) => {
          rec.cancelled = reason
        },
        backlog: () => rec.backlog,
      },
    )
    return Object.assign(rec, { handle })
  }
  /** Lets the hub's fibers run until `done` holds (or fails after a while). */
  const until = async (done: () => boolean, what = "condition"): Promise<void> => {
    for (let i = 0; i < 500 && !done(); i++) await Bun.sleep(2)
    if (!done()) throw new Error(`timed out waiting for ${what}`)
  }
  const settle = () => Bun.sleep(40)
  return {
    fx,
    hub,
    apply,
    put,
    del,
    watch,
    until,
    settle,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      fx.close()
    },
  }
}
