/**
 * The health endpoints and the operations half of the admin API on a node's HTTP listener
 * (docs/operations.md; membership and log maintenance are in admin-api.ts):
 *  - `GET /readyz` (alias `/health/ready`): the readiness JSON, 200 or 503; `?verbose` for
 *    etcd-style text; `GET /livez`, `/healthz`, `/health`, `/health/live`: the process answers;
 *  - `GET /v1/admin/drain`, `POST /v1/admin/drain`, `POST /v1/admin/drain/cancel`;
 *  - `POST /v1/admin/shutdown?graceful=true|false`;
 *  - `POST /v1/admin/transfer-leadership {"to": ID}` (on the leader), `POST /v1/admin/force-election`.
 * Answers are JSON; failures are `{"error": "what happened and what to do"}` with a 4xx/5xx status.
 */
import { Clock, Deferred, Duration, Effect } from "effect"
import type { DrainController } from "../../actors/drain.ts"
import type { Readiness } from "../../actors/readiness.ts"
import { verboseText } from "../../actors/readiness.ts"
import { ADMIN_PATHS } from "./admin-api.ts"
import { KV_GROUP, type LatticeNode } from "./node.ts"

export type ShutdownMode = "graceful" | "immediate"

export interface AdminContext {
  readonly node: LatticeNode
  readonly readiness: Readiness
  readonly drain: DrainController
  /** Completed once to make the process exit (run-node waits on it next to SIGTERM). */
  readonly shutdown: Deferred.Deferred<ShutdownMode>
  readonly transferTimeoutMs: number
}

const json = (body: unknown, status = 200): Response =>
  new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } })

const problem = (status: number, error: string): Response => json({ error }, status)

const LIVE = new Set(["/livez", "/healthz", "/health", "/health/live"])
const READY = new Set(["/readyz", "/health/ready"])

const readBody = async (req: Request): Promise<Record<string, unknown>> => {
  const text = await req.text()
  if (text.trim() === "") return {}
  const parsed: unknown = JSON.parse(text)
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error("the body must be a JSON object")
  return parsed as Record<string, unknown>
}

/** Polls `done` every 10 ms until it holds or `timeoutMs` passes; true if it held. */
const waitUntil = (done: () => boolean, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    while (!done()) {
      if ((yield* Clock.currentTimeMillis) >= deadline) return false
      yield* Effect.sleep(Duration.millis(10))
    }
    return true
  })

/** Returns the route's answer, or undefined when the path is not an admin/health path. */
export const adminRoutes =
  (ctx: AdminContext) =>
  (req: Request): Promise<Response> | undefined => {
    const url = new URL(req.url)
    const path = url.pathname
    if (LIVE.has(path)) return Promise.resolve(new Response("ok\n"))
    if (READY.has(path)) return Effect.runPromise(readyz(ctx, url.searchParams.has("verbose")))
    if (!path.startsWith("/v1/admin/")) return undefined
    const route = `${req.method} ${path}`
    const handler = ROUTES[route]
    if (handler === undefined) {
      const known = [...Object.keys(ROUTES), ...ADMIN_PATHS.map((p) => `POST ${p}`)].join(", ")
      return Promise.resolve(problem(404, `no admin route ${route}; known routes: ${known}`))
    }
    return handler(ctx, req, url).catch((e: unknown) =>
      problem(400, `bad request: ${e instanceof Error ? e.message : String(e)}`),
    )
  }

const readyz = (ctx: AdminContext, verbose: boolean) =>
  Effect.map(ctx.readiness.evaluate, (e) => {
    const status = e.report.ready ? 200 : 503
    if (verbose) return new Response(verboseText(e), { status, headers: { "content-type": "text/plain" } })
    return json(e.report, status)
  })

type Route = (ctx: AdminContext, req: Request, url: URL) => Promise<Response>

const ROUTES: Record<string, Route> = {
  "GET /v1/admin/drain": (ctx) => Effect.runPromise(Effect.map(ctx.drain.status, (s) => json(s))),
  "POST /v1/admin/drain": (ctx) =>
    Effect.runPromise(
      ctx.drain.start.pipe(
        Effect.match({ onSuccess: (s) => json(s, 202), onFailure: (e) => problem(409, e.message) }),
      ),
    ),
  "POST /v1/admin/drain/cancel": (ctx) =>
    Effect.runPromise(
      ctx.drain.cancel.pipe(
        Effect.match({ onSuccess: (s) => json(s), onFailure: (e) => problem(409, e.message) }),
      ),
    ),
  "POST /v1/admin/shutdown": (ctx, _req, url) => {
    const graceful = url.searchParams.get("graceful") !== "false"
    return Effect.runPromise(
      Effect.gen(function* () {
        const before = yield* ctx.drain.status
        if (graceful && (before.state === "idle" || before.state === "cancelled")) {
          // A graceful shutdown of a node that was not drained drains it first.
          yield* Effect.either(ctx.drain.start)
        }
        const mode = graceful ? "graceful" : "immediate"
        // Answer first; the process exits once the drain has ended (run-node owns the grace period).
        yield* Effect.forkDaemon(
          Effect.gen(function* () {
            if (graceful && (yield* ctx.drain.status).state === "running") yield* ctx.drain.awaitEnd
            yield* Deferred.succeed(ctx.shutdown, mode)
          }),
        )
        return json(
          { node: ctx.node.options.nodeId, shutdown: mode, drain: (yield* ctx.drain.status).state },
          202,
        )
      }),
    )
  },
  "POST /v1/admin/transfer-leadership": async (ctx, req) => {
    const body = await readBody(req)
    const to = body.to
    if (typeof to !== "string" || to === "") return problem(400, 'give the target node id: {"to": "n2"}')
    return Effect.runPromise(transferLeadership(ctx, to))
  },
  "POST /v1/admin/force-election": (ctx) => Effect.runPromise(forceElection(ctx)),
}

const transferLeadership = (ctx: AdminContext, to: string) =>
  Effect.gen(function* () {
    const h = ctx.node.group(KV_GROUP)
    if (h === undefined) return problem(503, "the KV group is not running on this node")
    const st = h.view.status
    const self = ctx.node.options.nodeId
    if (!st.conf.voters.includes(to))
      return problem(400, `${to} is not a voter (voters: ${st.conf.voters.join(", ")})`)
    if (st.leader === to) return json({ leader: to, term: st.term, changed: false })
    if (st.role !== "leader")
      return problem(
        409,
        `${self} is not the leader (leader: ${st.leader ?? "none"}); send this to the leader's endpoint`,
      )
    yield* h.send({ _tag: "transferLeader", to })
    const moved = yield* waitUntil(() => h.view.status.leader === to, ctx.transferTimeoutMs)
    const now = h.view.status
    if (!moved)
      return problem(
        504,
        `leadership did not move to ${to} within ${ctx.transferTimeoutMs / 1000} s (leader: ${now.leader ?? "none"}); check that ${to} is caught up and reachable`,
      )
    return json({ leader: to, term: now.term, changed: true })
  })

const forceElection = (ctx: AdminContext) =>
  Effect.gen(function* () {
    const h = ctx.node.group(KV_GROUP)
    const self = ctx.node.options.nodeId
    if (h === undefined) return problem(503, "the KV group is not running on this node")
    const st = h.view.status
    if (!st.conf.voters.includes(self))
      return problem(409, `${self} is not a voter (a learner never campaigns); promote it first`)
    if (st.role === "leader") return json({ leader: self, term: st.term, changed: false })
    yield* h.send({ _tag: "campaign" })
    const won = yield* waitUntil(() => h.view.status.role === "leader", ctx.transferTimeoutMs)
    const now = h.view.status
    if (!won)
      return problem(
        504,
        `${self} did not win the election within ${ctx.transferTimeoutMs / 1000} s (leader: ${now.leader ?? "none"}, term ${now.term}); a voter with a longer log refuses its vote`,
      )
    return json({ leader: self, term: now.term, changed: true })
  })
