/**
 * The HTTP admin API behind `lattice admin add-node | remove-node | snapshot | compact-log`
 * (POST, JSON body, JSON answer; errors as `{"error": "..."}` with 400 bad input, 409 refused,
 * 503 unavailable). Any node answers: membership changes go through the leader, log
 * maintenance runs on the named node.
 */
import { Effect } from "effect"
import { addNode, membershipFailureText, removeNode } from "./admin-membership.ts"
import { logMaintenance } from "./log-maintenance.ts"
import type { MembershipFailure } from "./membership.ts"
import { KV_GROUP, type LatticeNode } from "./node.ts"

export const ADMIN_PATHS = [
  "/v1/admin/add-node",
  "/v1/admin/remove-node",
  "/v1/admin/snapshot",
  "/v1/admin/compact-log",
] as const

const json = (body: unknown, status = 200): Response =>
  new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } })

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/

class BadInput extends Error {}

const readBody = async (req: Request): Promise<{ node: string; keep?: number }> => {
  let body: unknown
  try {
    body = await req.json()
  } catch {
    throw new BadInput('the body must be JSON such as {"node": "n4"}')
  }
  const b = body as { node?: unknown; keep?: unknown }
  if (typeof b.node !== "string" || !NODE_ID.test(b.node))
    throw new BadInput('"node" must be a node id (letters, digits, "-" or "_")')
  if (b.keep !== undefined && !(typeof b.keep === "number" && Number.isSafeInteger(b.keep) && b.keep >= 0))
    throw new BadInput('"keep" must be a whole number of entries >= 0')
  return b.keep === undefined ? { node: b.node } : { node: b.node, keep: b.keep }
}

const membershipError = (f: MembershipFailure): Response =>
  json({ error: membershipFailureText(f) }, f._tag === "ConfChangeRefused" ? 409 : 503)

const confNow = (node: LatticeNode) => node.group(KV_GROUP)?.view.status.conf ?? null

/** Answers an admin request, or undefined when the path is not an admin path. */
export const adminRoute = (node: LatticeNode, req: Request): Promise<Response> | undefined => {
  const path = new URL(req.url).pathname
  if (!(ADMIN_PATHS as readonly string[]).includes(path)) return undefined
  if (req.method !== "POST") return Promise.resolve(json({ error: `use POST for ${path}` }, 405))
  return (async () => {
    let body: { node: string; keep?: number }
    try {
      body = await readBody(req)
    } catch (e) {
      return json({ error: e instanceof Error ? e.message : String(e) }, 400)
    }
    const timeoutMs = node.options.requestTimeoutMs
    const effect: Effect.Effect<Response> = (() => {
      switch (path) {
        case "/v1/admin/add-node":
          return addNode(node, body.node).pipe(
            Effect.match({
              onSuccess: (outcome) => json({ node: body.node, outcome, conf: confNow(node) }),
              onFailure: membershipError,
            }),
          )
        case "/v1/admin/remove-node":
          return removeNode(node, body.node).pipe(
            Effect.match({
              onSuccess: () => json({ node: body.node, outcome: "removed", conf: confNow(node) }),
              onFailure: membershipError,
            }),
          )
        default: {
          if (path === "/v1/admin/compact-log" && body.keep === undefined)
            return Effect.succeed(json({ error: '"keep" is required: the entries to keep' }, 400))
          const req = body.keep === undefined ? { group: KV_GROUP } : { group: KV_GROUP, keep: body.keep }
          return logMaintenance(node, body.node, req, timeoutMs).pipe(
            Effect.match({
              onSuccess: (report) => json(report),
              onFailure: (e) => json({ error: e.message }, 503),
            }),
          )
        }
      }
    })()
    return Effect.runPromise(effect)
  })()
}
