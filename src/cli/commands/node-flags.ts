/** The flags that set node configuration, shared by `start`, `dev` and the `config` commands. */
import type { Overrides } from "../../config/overrides.ts"
import { namedFlagOverrides, setFlagOverrides } from "../../config/overrides.ts"
import type { FlagSpec, ParsedInput } from "../framework/types.ts"

export const CONFIG_FLAG: FlagSpec = {
  name: "config",
  short: "c",
  type: "string",
  placeholder: "FILE",
  description: "TOML config file (default: $LATTICE_CONFIG, else none)",
}

export const SET_FLAG: FlagSpec = {
  name: "set",
  type: "list",
  placeholder: "KEY=VALUE",
  description: "set any key, e.g. --set storage.sync_on_write=false",
}

/** The logging flags, on `start` and `dev` alike. */
export const LOG_FLAG_PATHS: ReadonlyArray<readonly [string, ReadonlyArray<string>, string, string]> = [
  ["log-level", ["telemetry", "log_level"], "LEVEL", "debug, info, warn or error (telemetry.log_level)"],
  ["log-format", ["telemetry", "log_format"], "FORMAT", "json or text (telemetry.log_format)"],
]

export const LOG_FLAGS: ReadonlyArray<FlagSpec> = LOG_FLAG_PATHS.map(
  ([name, , placeholder, description]) => ({
    name,
    type: "string",
    placeholder,
    description,
  }),
)

/** Flag name → config path. */
export const NODE_FLAG_PATHS: ReadonlyArray<readonly [string, ReadonlyArray<string>, string, string]> = [
  ["node-id", ["node", "id"], "ID", "this node's id (node.id)"],
  [
    "members",
    ["cluster", "members"],
    "n1,n2,n3",
    "initial voting members, comma-separated (cluster.members)",
  ],
  ["data-dir", ["node", "data_dir"], "DIR", "data directory (node.data_dir)"],
  ["nats", ["nats", "urls"], "URL[,URL...]", "NATS server URLs (nats.urls)"],
  ["listen-etcd", ["listeners", "etcd"], "HOST:PORT", "etcd gRPC listener (listeners.etcd)"],
  ["listen-http", ["listeners", "http"], "HOST:PORT", "HTTP gateway and health listener (listeners.http)"],
  [
    "listen-metrics",
    ["telemetry", "metrics_bind"],
    "HOST:PORT",
    "Prometheus listener (telemetry.metrics_bind)",
  ],
  ...LOG_FLAG_PATHS,
]

export const JOIN_FLAG: FlagSpec = {
  name: "join",
  type: "boolean",
  description: "join a running cluster: wait to be added with `lattice admin add-node` (cluster.join)",
}

export const NODE_FLAGS: ReadonlyArray<FlagSpec> = [
  ...NODE_FLAG_PATHS.map(
    ([name, , placeholder, description]): FlagSpec => ({
      name,
      type: "string",
      placeholder,
      description,
    }),
  ),
  JOIN_FLAG,
]

/** Overrides from the node flags and --set (which comes last, so it wins). */
export const flagOverrides = (input: ParsedInput, extra: Overrides["overrides"] = []): Overrides => {
  const named = namedFlagOverrides([
    ...NODE_FLAG_PATHS.map(([name, path]) => [name, path, input.string(name)] as const),
    ["join", ["cluster", "join"], input.bool("join") ? "true" : undefined] as const,
  ])
  const set = setFlagOverrides(input.list("set"))
  return {
    overrides: [...extra, ...named.overrides, ...set.overrides],
    issues: [...named.issues, ...set.issues],
  }
}
