/**
 * What the drain / readiness / leadership verbs share: finding a node's endpoint by its id among
 * --endpoints, and small JSON requests to one endpoint.
 */
import { Effect } from "effect"
import type { NodeStatusReport } from "../../node/status-report.ts"
import { fetchStatus, type Row } from "./status.ts"

export const NODE_ID_FLAG = {
  name: "node-id",
  type: "string",
  placeholder: "ID",
  description: "the node to act on, by its node.id (default: the node behind the first endpoint)",
} as const

export const FORMAT_FLAG = {
  name: "format",
  type: "string",
  placeholder: "FORMAT",
  description: "table (default) or json",
} as const

export interface Located {
  readonly endpoint: string
  readonly report: NodeStatusReport
}

/** The endpoint serving node `id` (or the first reachable endpoint when `id` is undefined). */
export const locateNode = (
  endpoints: readonly string[],
  id: string | undefined,
): Effect.Effect<{ ok: true; node: Located; rows: readonly Row[] } | { ok: false; error: string }> =>
  Effect.map(Effect.forEach(endpoints, fetchStatus, { concurrency: "unbounded" }), (rows) => {
    const reachable = rows.filter((r) => r.report !== null)
    const found = id === undefined ? reachable[0] : reachable.find((r) => r.report!.node === id)
    if (found !== undefined)
      return { ok: true as const, node: { endpoint: found.endpoint, report: found.report! }, rows }
    const seen = reachable.map((r) => `${r.report!.node} at ${r.endpoint}`).join(", ")
    const down = rows.filter((r) => r.report === null).map((r) => `${r.endpoint} (${r.error})`)
    const error =
      id === undefined
        ? `no node answered: ${down.join(", ")}; pass the nodes' HTTP listeners with --endpoints`
        : `node ${id} is not behind any endpoint (${seen === "" ? "none answered" : `found ${seen}`}${down.length === 0 ? "" : `; unreachable: ${down.join(", ")}`}); add its HTTP listener to --endpoints`
    return { ok: false as const, error }
  })

/** The node all reachable endpoints name as leader, with its endpoint if it is among them. */
export const locateLeader = (rows: readonly Row[]): { id: string | null; endpoint: string | null } => {
  const leaders = new Set(
    rows.flatMap((r) => (r.report?.groups[0]?.leader ? [r.report.groups[0].leader] : [])),
  )
  const id = leaders.size === 1 ? [...leaders][0]! : null
  const endpoint = rows.find((r) => r.report !== null && r.report.node === id)?.endpoint ?? null
  return { id, endpoint }
}

export type JsonAnswer =
  | { readonly ok: true; readonly status: number; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly status: number; readonly error: string }

/** One JSON request to one endpoint; an unreachable endpoint is status 0. */
export const requestJson = (
  endpoint: string,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  timeoutMs: number,
): Effect.Effect<JsonAnswer> =>
  Effect.promise(async (): Promise<JsonAnswer> => {
    let res: Response
    try {
      res = await fetch(`${endpoint}${path}`, {
        method,
        ...(method === "POST"
          ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) }
          : {}),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (e) {
      return { ok: false, status: 0, error: `${endpoint}: ${e instanceof Error ? e.message : String(e)}` }
    }
    const text = await res.text()
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      return {
        ok: false,
        status: res.status,
        error: `${endpoint} answered HTTP ${res.status}: ${text.trim()}`,
      }
    }
    if (res.ok || (path.startsWith("/readyz") && res.status === 503))
      return { ok: true, status: res.status, body: parsed }
    return { ok: false, status: res.status, error: String(parsed.error ?? `HTTP ${res.status}`) }
  })
