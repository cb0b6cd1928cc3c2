/**
 * Decoding a merged raw config with the schema. Schema failures become ConfigIssues with a
 * dotted path, the expected type, the value found, where that value came from, and for unknown
 * keys the closest known key.
 */
import { Either, ParseResult, Schema } from "effect"
import { type LatticeConfig, LatticeConfigSchema } from "../../schemas/config.ts"
import { dotted, siblingNames, specAt } from "./catalog.ts"
import type { ConfigIssue } from "./error.ts"
import { didYouMean } from "./suggest.ts"

/** Where the value at a path came from, for messages; undefined when it is a default. */
export type SourceOf = (path: ReadonlyArray<string | number>) => string | undefined

/** Names people reach for that live elsewhere in this schema. */
const ALIASES: Record<string, string> = {
  raft: "consensus",
  metrics: "telemetry",
  logging: "telemetry",
  log: "telemetry",
  server: "node",
  peers: "cluster.peers",
  members: "cluster.members",
  tenant: "tenants",
  data_dir: "node.data_dir",
  node_id: "node.id",
}

const decode = Schema.decodeUnknownEither(LatticeConfigSchema, { errors: "all", onExcessProperty: "error" })

const unknownKeyMessage = (path: ReadonlyArray<PropertyKey>): string => {
  const name = String(path[path.length - 1])
  const segments = path.map((p) => (typeof p === "number" ? p : String(p)))
  const alias = path.length === 1 ? ALIASES[name] : undefined
  const hint = alias !== undefined ? `; did you mean "${alias}"?` : didYouMean(name, siblingNames(segments))
  const where = path.length === 1 ? "unknown section or top-level key" : "unknown key"
  return `${where}${hint}`
}

const EXPECTED = /^Expected (.*), actual (.*)$/s

/** Several messages for one path (a union, for instance) collapse into one readable line. */
const mergeMessages = (path: ReadonlyArray<string | number>, messages: ReadonlyArray<string>): string => {
  const useful = messages.filter((m) => !m.startsWith("Expected undefined"))
  const list = useful.length > 0 ? useful : messages
  // Elements of a list report their own type; a key reports its documented label.
  const label = typeof path[path.length - 1] === "number" ? undefined : specAt(path)?.typeLabel
  if (list.length === 1) {
    const m = EXPECTED.exec(list[0]!)
    return m ? `expected ${label ?? m[1]}, got ${m[2]}` : list[0]!
  }
  const custom = list.find((m) => !m.startsWith("Expected "))
  if (custom !== undefined) return custom
  const actual = EXPECTED.exec(list[0]!)?.[2] ?? "?"
  const expected = label ?? list.map((m) => EXPECTED.exec(m)?.[1] ?? m).join(" or ")
  return `expected ${expected}, got ${actual}`
}

/** Turn a ParseError into issues, one per key path, in path order. */
export const issuesFromParseError = (error: ParseResult.ParseError, sourceOf: SourceOf): ConfigIssue[] => {
  const groups = new Map<
    string,
    { path: ReadonlyArray<string | number>; unexpected: boolean; messages: string[] }
  >()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)))
    const id = dotted(path)
    const group = groups.get(id) ?? { path, unexpected: false, messages: [] }
    if (issue._tag === "Unexpected") group.unexpected = true
    else if (issue._tag === "Missing")
      group.messages.push(`is required (${specAt(path)?.typeLabel ?? "value"})`)
    else group.messages.push(issue.message)
    groups.set(id, group)
  }
  return [...groups.entries()].map(([id, g]) => {
    const source = sourceOf(g.path)
    const message = g.unexpected ? unknownKeyMessage(g.path) : mergeMessages(g.path, g.messages)
    return source === undefined ? { path: id, message } : { path: id, message, source }
  })
}

export const decodeConfig = (raw: unknown, sourceOf: SourceOf): Either.Either<LatticeConfig, ConfigIssue[]> =>
  Either.mapLeft(decode(raw), (e) => issuesFromParseError(e, sourceOf))
