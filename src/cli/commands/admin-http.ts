/** What the `lattice admin` verbs share: the --endpoints flag and a JSON POST to the admin API. */
import { Effect } from "effect"
import type { FlagSpec, ParsedInput } from "../framework/types.ts"
import { DEFAULT_ENDPOINT, normalize } from "./status.ts"

export const ENDPOINTS_FLAG: FlagSpec = {
  name: "endpoints",
  type: "string",
  placeholder: "URL[,URL…]",
  description: `the nodes' HTTP listeners, tried in order (default ${DEFAULT_ENDPOINT})`,
}

export const endpointsOf = (input: ParsedInput): string[] =>
  (input.string("endpoints") ?? DEFAULT_ENDPOINT)
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map(normalize)

export type AdminAnswer =
  | { readonly ok: true; readonly endpoint: string; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly error: string }

/**
 * POSTs `body` to `path` on the first endpoint that answers. A node that answered with an error
 * (refused, bad input) is final: another node would answer the same.
 */
export const postAdmin = (
  endpoints: readonly string[],
  path: string,
  body: unknown,
  timeoutMs: number,
): Effect.Effect<AdminAnswer> =>
  Effect.promise(async (): Promise<AdminAnswer> => {
    const unreachable: string[] = []
    for (const endpoint of endpoints) {
      let res: Response
      try {
        res = await fetch(`${endpoint}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (e) {
        unreachable.push(`${endpoint}: ${e instanceof Error ? e.message : String(e)}`)
        continue
      }
      const text = await res.text()
      let parsed: Record<string, unknown>
      try {
        parsed = JSON.parse(text) as Record<string, unknown>
      } catch {
        return { ok: false, error: `${endpoint} answered HTTP ${res.status}: ${text.trim()}` }
      }
      if (res.ok) return { ok: true, endpoint, body: parsed }
      return { ok: false, error: String(parsed.error ?? `HTTP ${res.status}`) }
    }
    return {
      ok: false,
      error: `no node answered (${unreachable.join("; ")}); pass the nodes' HTTP listeners with --endpoints`,
    }
  })

/** "90s", "2m", "500ms" or a number of seconds. */
export const parseSeconds = (text: string): number | null => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (m === null) return null
  const n = Number(m[1])
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : n
}
