/**
 * Environment variable names. Every key has a generic name, LATTICE_<SECTION>__<KEY> (nested
 * tables add another `__<KEY>`), and the most used keys also have a short name matching the
 * `lattice start` flags.
 */

/** Short names → config path. Applied before the generic names, which win on a clash. */
export const ENV_SHORTCUTS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["LATTICE_NODE_ID", ["node", "id"]],
  ["LATTICE_DATA_DIR", ["node", "data_dir"]],
  ["LATTICE_MEMBERS", ["cluster", "members"]],
  ["LATTICE_NATS", ["nats", "urls"]],
  ["LATTICE_NATS_CREDS", ["nats", "credentials_file"]],
  ["LATTICE_LISTEN_ETCD", ["listeners", "etcd"]],
  ["LATTICE_LISTEN_HTTP", ["listeners", "http"]],
  ["LATTICE_LISTEN_METRICS", ["telemetry", "metrics_bind"]],
  ["LATTICE_LOG_LEVEL", ["telemetry", "log_level"]],
]

/** The variable naming a config file when --config is not given. */
export const ENV_CONFIG_FILE = "LATTICE_CONFIG"

export const ENV_PREFIX = "LATTICE_"

export const genericEnvName = (path: ReadonlyArray<string>): string =>
  ENV_PREFIX + path.map((p) => p.toUpperCase()).join("__")

/** Every env name that sets this path (short name first when there is one). */
export const envNamesFor = (path: ReadonlyArray<string>): ReadonlyArray<string> => {
  const joined = path.join(".")
  const short = ENV_SHORTCUTS.filter(([, p]) => p.join(".") === joined).map(([name]) => name)
  return [...short, genericEnvName(path)]
}
