/**
 * What the `lattice admin` verbs share: the --endpoints flag, the NODE argument, finding the node
 * among the endpoints and a JSON POST to the admin API, each printing its error the same way.
 */
import { Effect } from "effect"
import type { CliIO, FlagSpec, ParsedInput } from "../framework/types.ts"
import { type Located, locateNode } from "./admin-ops-http.ts"
import { usageError } from "./report.ts"
import { DEFAULT_ENDPOINT, normalize } from "./status.ts"

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/

export const ENDPOINTS_FLAG: FlagSpec = {
  name: "endpoints",
  type: "string",
  placeholder: "URL[,URL…]",
  description: `the nodes' HTTP listeners, tried in order (default $LATTICE_ENDPOINTS, else ${DEFAULT_ENDPOINT})`,
}

/** --endpoints, else $LATTICE_ENDPOINTS (as `lattice status`), else the local default. */
export const endpointsOf = (input: ParsedInput, env: CliIO["env"]): string[] =>
  (input.string("endpoints") ?? env.LATTICE_ENDPOINTS ?? DEFAULT_ENDPOINT)
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

/**
 * The node id in the first argument of `lattice admin VERB`, or the exit code of the usage error
 * printed when it is missing or not an id (`what`: "the node's id"; `example`: "lattice admin snapshot n1").
 */
export const nodeIdArgument = (
  input: ParsedInput,
  io: CliIO,
  [verb, what, example]: readonly [verb: string, what: string, example: string],
): Effect.Effect<string | number> => {
  const id = input.args[0]
  return id !== undefined && NODE_ID.test(id)
    ? Effect.succeed(id)
    : usageError(io, `lattice admin ${verb}`, `give ${what}, e.g. ${example}`)
}

/** The endpoint serving node `id` (the first reachable one when undefined), or null once the error is printed. */
export const locateOrReport = (
  io: CliIO,
  input: ParsedInput,
  id: string | undefined,
): Effect.Effect<Located | null> =>
  Effect.map(locateNode(endpointsOf(input, io.env), id), (located) => {
    if (located.ok) return located.node
    io.stderr(`error: ${located.error}\n`)
    return null
  })

/** postAdmin through --endpoints; on failure prints `error: <what>: <why>` and gives null. */
export const adminCall = (
  io: CliIO,
  input: ParsedInput,
  what: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Effect.Effect<Record<string, unknown> | null> =>
  Effect.map(postAdmin(endpointsOf(input, io.env), path, body, timeoutMs), (answer) => {
    if (answer.ok) return answer.body
    io.stderr(`error: ${what}: ${answer.error}\n`)
    return null
  })

/** --format table|json, or the exit code of the usage error printed for another value. */
export const formatOf = (
  input: ParsedInput,
  io: CliIO,
  command: string,
): Effect.Effect<"table" | "json" | number> => {
  const format = input.string("format") ?? "table"
  return format === "table" || format === "json"
    ? Effect.succeed(format)
    : usageError(io, command, `--format must be table or json, got "${format}"`)
}
