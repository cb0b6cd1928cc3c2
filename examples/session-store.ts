/**
 * A session store like the dashboard's: user sessions live in Lattice, so they survive any one
 * instance failing, and every instance sees logins and logouts made on the others.
 *  - each session is a key "sessions/<id>" attached to its own lease: it expires by itself
 *    after --ttl seconds without use (sliding expiry: each lookup renews the lease);
 *  - logout revokes the lease, which deletes the key;
 *  - each instance keeps a live copy of all sessions (config-watch recipe) for its listing.
 *
 *   bun examples/session-store.ts --port 8080
 *   curl -XPOST localhost:8080/login -d '{"user":"ada"}'      → {"id":"…","ttl":1800}
 *   curl localhost:8080/sessions/<id>                        → {"user":"ada",…} (renews it)
 *   curl localhost:8080/sessions                             → every active session
 *   curl -XDELETE localhost:8080/sessions/<id>               → 204, logged out
 */
import { randomUUID } from "node:crypto"
import { parseArgs } from "node:util"
import { connect, GrpcCode, text, watchConfig } from "../src/sdk/index.ts"

const USAGE = `session-store: an HTTP session store whose sessions live in Lattice

Usage:
  bun examples/session-store.ts [flags]

Flags:
  --endpoints LIST   gRPC endpoints, comma-separated (default 127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579)
  --port N           HTTP port (default 8080; 0 picks a free one)
  --ttl SEC          idle time after which a session expires (default 1800)
  --run-for SEC      exit after this long (default: until Ctrl-C)
  -h, --help         this help

HTTP API:
  POST   /login          {"user": NAME}  → 201 {"id", "ttl"}
  GET    /sessions/ID    → 200 session (and renews it) | 404
  DELETE /sessions/ID    → 204 (logout) | 404
  GET    /sessions       → 200 {"revision", "sessions": {ID: session}}
`

const fail = (message: string): never => {
  console.error(`error: ${message}\n\n${USAGE}`)
  process.exit(2)
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        endpoints: { type: "string", default: "127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579" },
        port: { type: "string", default: "8080" },
        ttl: { type: "string", default: "1800" },
        "run-for": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  } catch (err) {
    return fail((err as Error).message)
  }
})()
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0-65535, got "${values.port}"`)
const ttl = Number(values.ttl)
if (!Number.isInteger(ttl) || ttl < 1)
  fail(`--ttl must be a whole number of seconds >= 1, got "${values.ttl}"`)

const PREFIX = "sessions/"
const client = connect({ endpoints: values.endpoints!.split(",") })
const live = watchConfig(client, PREFIX, { onChange: () => {} })
await live.ready

const json = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? {} : { "content-type": "application/json" },
  })

/** The session's stored value and lease, or undefined when it does not exist (or expired). */
const find = async (id: string) => {
  const kv = (await client.get(PREFIX + id)).kvs[0]
  return kv === undefined ? undefined : { value: JSON.parse(text(kv.value)), lease: kv.lease ?? 0n }
}

const handle = async (req: Request): Promise<Response> => {
  const url = new URL(req.url)
  const id = url.pathname.startsWith("/sessions/") ? url.pathname.slice("/sessions/".length) : undefined
  if (req.method === "POST" && url.pathname === "/login") {
    const body = (await req.json().catch(() => undefined)) as { user?: unknown } | undefined
    if (typeof body?.user !== "string" || body.user === "") {
      return json(400, { error: 'send {"user": "<name>"}' })
    }
    const lease = await client.grant(ttl)
    const sid = randomUUID()
    const session = { user: body.user, created: new Date().toISOString() }
    await client.put(PREFIX + sid, JSON.stringify(session), { lease: lease.id })
    return json(201, { id: sid, ttl })
  }
  if (req.method === "GET" && url.pathname === "/sessions") {
    const snap = live.snapshot()
    const sessions = Object.fromEntries(
      [...snap.values].map(([k, v]) => [k.slice(PREFIX.length), JSON.parse(v) as unknown]),
    )
    return json(200, { revision: String(snap.revision), sessions })
  }
  if (id !== undefined && id !== "" && req.method === "GET") {
    const s = await find(id)
    if (s === undefined) return json(404, { error: "no such session (expired or logged out)" })
    // Sliding expiry: using a session renews its lease.
    if ((await client.renew(s.lease)) <= 0n) return json(404, { error: "session expired" })
    return json(200, s.value)
  }
  if (id !== undefined && id !== "" && req.method === "DELETE") {
    const s = await find(id)
    if (s === undefined) return json(404, { error: "no such session" })
    await client.revoke(s.lease).catch((e: { code?: number }) => {
      if (e.code !== GrpcCode.NOT_FOUND) throw e
    })
    return json(204, undefined)
  }
  return json(404, { error: "routes: POST /login, GET /sessions, GET|DELETE /sessions/<id>" })
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch: (req) =>
    handle(req).catch((err: Error) => json(503, { error: `lattice unavailable: ${err.message}` })),
})
console.log(
  `session-store: listening on http://127.0.0.1:${server.port} (sessions expire after ${ttl}s idle)`,
)

const shutdown = () => {
  server.stop(true)
  live.close()
  client.close()
  console.log("session-store: stopped")
  process.exit(0)
}
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, shutdown)
if (values["run-for"] !== undefined) {
  const s = Number(values["run-for"])
  if (!Number.isFinite(s) || s <= 0)
    fail(`--run-for must be a positive number of seconds, got "${values["run-for"]}"`)
  setTimeout(shutdown, s * 1000)
}
