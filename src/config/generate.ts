/**
 * `config generate`: a complete TOML file with every key, its value (the default unless given),
 * what it means, and the environment variables that override it. Keys without a default appear
 * as commented examples. The output decodes back to the same configuration.
 */
import { stringify } from "smol-toml"
import type { LatticeConfig } from "../../schemas/config.ts"
import { configCatalog, type KeySpec } from "./catalog.ts"
import { envNamesFor } from "./env-names.ts"

const wrap = (text: string, width = 96): string[] => {
  const lines: string[] = []
  let line = ""
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines
}

const comment = (text: string): string[] => wrap(text).map((l) => `# ${l}`)

const assignment = (name: string, value: unknown): string => stringify({ [name]: value }).trim()

/** Example values for keys that have no default, shown commented out. */
const examples = (nodeId: string): Record<string, unknown> => ({
  "node.data_dir": `/var/lib/lattice/node-${nodeId}`,
  "listeners.redis": "127.0.0.1:6379",
  "listeners.memcached": "127.0.0.1:11211",
  "nats.credentials_file": "/etc/lattice/nats.creds",
  "network.advertise_http": "10.0.1.11:2378",
})

const exampleTables = (spec: KeySpec): Record<string, unknown> => {
  const name = spec.path[spec.path.length - 1]!
  switch (spec.path.join(".")) {
    case "cluster.peers":
      return { id: "n2", address: "10.0.1.12:2378", role: "voter" }
    case "tenants.bootstrap":
      return { name: "default", quota_bytes: 0 }
    case "tls.nats":
      return { ca_file: "/etc/lattice/tls/ca.crt" }
    default:
      return {
        cert_file: `/etc/lattice/tls/${name}.crt`,
        key_file: `/etc/lattice/tls/${name}.key`,
        ca_file: "/etc/lattice/tls/ca.crt",
        client_auth: false,
      }
  }
}

const valueAt = (config: LatticeConfig, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], config)

const keyBlock = (spec: KeySpec, value: unknown, nodeId: string): string[] => {
  const name = spec.path[spec.path.length - 1]!
  const meta = `type: ${spec.typeLabel}; env: ${envNamesFor(spec.path).join(" or ")}`
  const lines = [...comment(spec.doc), `# ${meta}`]
  if (value !== undefined) lines.push(assignment(name, value))
  else {
    const example = examples(nodeId)[spec.path.join(".")]
    lines.push(example === undefined ? `# ${name} = (not set)` : `# ${assignment(name, example)}`)
  }
  return lines
}

const tableBlock = (spec: KeySpec, value: unknown): string[] => {
  const header = spec.kind === "table-list" ? `[[${spec.path.join(".")}]]` : `[${spec.path.join(".")}]`
  const lines = comment(spec.doc)
  const rows = spec.kind === "table-list" ? ((value as unknown[] | undefined) ?? []) : value ? [value] : []
  if (rows.length === 0) {
    const example = stringify(exampleTables(spec)).trim().split("\n")
    return [...lines, `# ${header}`, ...example.map((l) => `# ${l}`)]
  }
  for (const row of rows) lines.push(header, stringify(JSON.parse(JSON.stringify(row))).trim())
  return lines
}

export const generateToml = (config: LatticeConfig): string => {
  const out: string[] = [
    "# Lattice node configuration, written by `lattice config generate`.",
    "# Every key is shown with its default; delete what you do not change. Precedence, lowest first:",
    "# defaults < this file < LATTICE_* environment variables < command-line flags.",
    "# Relative paths are resolved against the working directory of the process.",
  ]
  for (const section of configCatalog) {
    const name = section.path[0]!
    out.push("", `# ${"=".repeat(94)}`, ...comment(section.doc), `[${name}]`)
    const inline = section.children.filter((k) => k.kind !== "table" && k.kind !== "table-list")
    const tables = section.children.filter((k) => k.kind === "table" || k.kind === "table-list")
    for (const spec of inline) out.push("", ...keyBlock(spec, valueAt(config, spec.path), config.node.id))
    for (const spec of tables) out.push("", ...tableBlock(spec, valueAt(config, spec.path)))
  }
  return `${out.join("\n")}\n`
}
