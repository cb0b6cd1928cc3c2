/**
 * Watches over core NATS against a real nats-server and a real 3-node in-process cluster: a
 * client subscribes to its own subject, creates a watch from a past revision (history, then live,
 * numbered by seq), asks for a bookmark, and when the serving node stops it is told to go
 * elsewhere, re-creates the watch from its last revision + 1 and continues exactly (checked by
 * the watch validators). Also: bad requests, a compacted start revision, keepalive control.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { connect, createInbox, type NatsConnection, type Subscription } from "@nats-io/transport-node"
import { Effect, Exit, Scope } from "effect"
import { startNatsKvService } from "../../../src/adapters/nats/service.ts"
import { kvSubject } from "../../../src/adapters/nats/subjects.ts"
import { NODE_STOPPING_REASON, watchCreateSubject } from "../../../src/adapters/nats/watch.ts"
import { NodeEtcdBackend } from "../../../src/node/etcd-backend.ts"
import { memberIdOf } from "../../../src/node/ids.ts"
import { type NatsServer, startNatsServer } from "../../support/nats-server.ts"
import { checkWatch, concatRuns, type Observation, type WatchRun } from "../../support/watch-validators.ts"
import { makeTestCluster, type TestCluster } from "../node/cluster-support.ts"

const CLUSTER = "natswatch"
const b64 = (s: string) => Buffer.from(s).toString("base64")
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString()

let nats: NatsServer
let tc: TestCluster
let client: NatsConnection
const scopes = new Map<string, Scope.CloseableScope>()

const startService = async (id: string): Promise<void> => {
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(
    Scope.extend(
      startNatsKvService({
        cluster: CLUSTER,
        backend: new NodeEtcdBackend(tc.cluster.get(id)!.node),
        servers: [nats.url],
      }),
      scope,
    ),
  )
  scopes.set(id, scope)
}
const stopService = async (id: string): Promise<void> => {
  const scope = scopes.get(id)
  scopes.delete(id)
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
}

// biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field
const request = async (subject: string, body: unknown): Promise<any> =>
  JSON.parse((await client.request(subject, JSON.stringify(body), { timeout: 10_000 })).string())
const put = (key: string, value: string) =>
  request(kvSubject(CLUSTER, "put"), { key: b64(key), value: b64(value) })

// biome-ignore lint/suspicious/noExplicitAny: messages are checked field by field
type Message = any

/** A subscription collecting one watch's messages. */
const subscribe = (subject: string) => {
  const messages: Message[] = []
  const sub: Subscription = client.subscribe(subject, {
    callback: (_err, msg) => {
      messages.push(JSON.parse(msg.string()))
    },
  })
  const until = async (done: () => boolean, what: string) => {
    for (let i = 0; i < 500 && !done(); i++) await Bun.sleep(10)
    if (!done()) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(messages).slice(0, 400)}`)
  }
  return { messages, sub, until }
}

const observations = (messages: Message[]): Observation[] =>
  messages.flatMap((m): Observation[] => {
    const revision = Number(m.header.revision)
    if (m.events !== undefined)
      return [
        {
          kind: "events",
          revision,
          events: m.events.map((e: Message) => ({
            type: e.type === "PUT" ? "put" : "delete",
            key: unb64(e.kv.key),
            value: unb64(e.kv.value),
            modRevision: Number(e.kv.mod_revision),
            ...(e.prev_kv === undefined
              ? {}
              : { prevKv: { value: unb64(e.prev_kv.value), modRevision: Number(e.prev_kv.mod_revision) } }),
          })),
        },
      ]
    if (m.progress === true) return [{ kind: "progress", revision }]
    return []
  })

const memberOf = (control: string) =>
  tc.cluster.ids.find((id) => control.includes(`.${memberIdOf(id).toString(16)}.`))!

beforeAll(async () => {
  nats = await startNatsServer()
  tc = makeTestCluster(3, (o) => ({ ...o, clusterName: CLUSTER, requestTimeoutMs: 1000 }))
  await tc.cluster.startAll()
  await tc.cluster.awaitLeader()
  for (const id of tc.cluster.ids) await startService(id)
  client = await connect({ servers: [nats.url] })
})

afterAll(async () => {
  await client?.close()
  for (const id of [...scopes.keys()]) await stopService(id)
  await tc?.cleanup()
  await nats?.stop()
})

describe("NATS watch over a 3-node cluster", () => {
  test("history then live, bookmarks, and a resume elsewhere when the serving node stops", async () => {
    const history: { revision: number; type: "put" | "delete"; key: string; value: string }[] = []
    const write = async (key: string, value: string) => {
      const r = await put(key, value)
      history.push({ revision: Number(r.header.revision), type: "put", key, value })
      return Number(r.header.revision)
    }
    const from = await write("nw/a", "1")
    await write("nw/b", "1")
    await write("other", "x")
    const inbox = createInbox()
    const first = subscribe(inbox)
    const spec = { key: "nw/", rangeEnd: "nw0", startRevision: from, prevKv: true }
    const created = await request(watchCreateSubject(CLUSTER), {
      key: b64("nw/"),
      range_end: b64("nw0"),
      start_revision: String(from),
      prev_kv: true,
      subject: inbox,
      keepalive_ms: 5000,
    })
    expect(created.error).toBeUndefined()
    expect(created.control).toStartWith(`lattice.${CLUSTER}.watch.ctl.`)
    await first.until(() => first.messages.length >= 1, "history")
    await write("nw/a", "2")
    await first.until(() => first.messages.some((m) => m.events?.[0]?.kv.value === b64("2")), "live event")
    expect((await request(created.control, { op: "progress" })).watch_id).toBe(created.watch_id)
    await first.until(() => first.messages.some((m) => m.progress === true), "progress message")
    expect((await request(created.control, { op: "keepalive" })).error).toBeUndefined()
    expect(first.messages.map((m) => m.seq)).toEqual(first.messages.map((_, i) => i + 1))

    // The serving node's NATS service stops: the client is told, and resumes elsewhere.
    const serving = memberOf(created.control)
    await stopService(serving)
    await first.until(() => first.messages.some((m) => m.canceled === true), "cancellation")
    expect(first.messages.at(-1)).toMatchObject({ canceled: true, cancel_reason: NODE_STOPPING_REASON })
    const firstRun: WatchRun = { spec, observations: observations(first.messages) }
    const last = Math.max(
      ...firstRun.observations.flatMap((o) =>
        o.kind === "events" ? o.events.map((e) => e.modRevision) : [],
      ),
    )
    await write("nw/b", "2")
    const inbox2 = createInbox()
    const second = subscribe(inbox2)
    const again = await request(watchCreateSubject(CLUSTER), {
      key: b64("nw/"),
      range_end: b64("nw0"),
      start_revision: String(last + 1),
      prev_kv: true,
      subject: inbox2,
    })
    expect(memberOf(again.control)).not.toBe(serving)
    await write("nw/c", "1")
    await second.until(
      () => second.messages.some((m) => m.events?.some((e: Message) => e.kv.key === b64("nw/c"))),
      "resumed",
    )
    const joined = concatRuns(firstRun, {
      spec: { ...spec, startRevision: last + 1 },
      observations: observations(second.messages),
    })
    expect(joined.violations).toEqual([])
    expect(checkWatch(history, { ...joined.run, reachedRevision: history.at(-1)!.revision })).toEqual([])
    first.sub.unsubscribe()
    second.sub.unsubscribe()
    await startService(serving)
  }, 60_000)

  test("bad requests are refused with what to fix; a compacted start revision ends the watch", async () => {
    const noSubject = await request(watchCreateSubject(CLUSTER), { key: b64("k") })
    expect(noSubject.error.code).toBe("INVALID_ARGUMENT")
    expect(noSubject.error.message).toContain("subject")
    const shortKeepalive = await request(watchCreateSubject(CLUSTER), {
      key: b64("k"),
      subject: "x",
      keepalive_ms: 10,
    })
    expect(shortKeepalive.error.code).toBe("INVALID_ARGUMENT")
    const r1 = Number((await put("cw", "1")).header.revision)
    const r2 = Number((await put("cw", "2")).header.revision)
    expect((await request(kvSubject(CLUSTER, "compact"), { revision: String(r2) })).error).toBeUndefined()
    const inbox = createInbox()
    const w = subscribe(inbox)
    await request(watchCreateSubject(CLUSTER), { key: b64("cw"), start_revision: String(r1), subject: inbox })
    await w.until(() => w.messages.length === 1, "compaction message")
    expect(w.messages[0]).toMatchObject({ seq: 1, canceled: true, compact_revision: String(r2) })
    const unknown = await request(`lattice.${CLUSTER}.watch.ctl.${memberIdOf("n1").toString(16)}.999999`, {
      op: "keepalive",
    })
    expect(unknown.error.code).toBe("NOT_FOUND")
    w.sub.unsubscribe()
  }, 30_000)
})
