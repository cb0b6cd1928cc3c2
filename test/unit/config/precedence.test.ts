/** defaults < TOML file < LATTICE_* environment < CLI flags. */
import { describe, expect, test } from "bun:test"
import { leafKeys, specAt } from "../../../src/config/catalog.ts"
import { ENV_SHORTCUTS, genericEnvName } from "../../../src/config/env-names.ts"
import { namedFlagOverrides, setFlagOverrides } from "../../../src/config/overrides.ts"
import { loadErr, loadOk, writeToml } from "./support.ts"

const FILE = `
[node]
id = "file-node"

[admin]
drain_timeout_seconds = 11

[storage]
max_wal_size_mb = 16
`

const flags = (...pairs: Array<readonly [string, ReadonlyArray<string>, string]>) => namedFlagOverrides(pairs)

describe("config precedence", () => {
  test("the file overrides defaults", async () => {
    const { config } = await loadOk({ file: writeToml(FILE) })
    expect(config.node.id).toBe("file-node")
    expect(config.admin.drain_timeout_seconds).toBe(11)
    expect(config.admin.shutdown_grace_period_seconds).toBe(5)
  })

  test("environment overrides the file, flags override the environment", async () => {
    const file = writeToml(FILE)
    const env = { LATTICE_NODE_ID: "env-node", LATTICE_ADMIN__DRAIN_TIMEOUT_SECONDS: "22" }
    const fromEnv = await loadOk({ file, env })
    expect(fromEnv.config.node.id).toBe("env-node")
    expect(fromEnv.config.admin.drain_timeout_seconds).toBe(22)
    expect(fromEnv.config.storage.max_wal_size_mb).toBe(16)
    const fromFlags = await loadOk({
      file,
      env,
      flags: flags(["node-id", ["node", "id"], "flag-node"]),
    })
    expect(fromFlags.config.node.id).toBe("flag-node")
    expect(fromFlags.config.admin.drain_timeout_seconds).toBe(22)
  })

  test("the generic LATTICE_<SECTION>__<KEY> name wins over the short name", async () => {
    const { config } = await loadOk({ env: { LATTICE_NODE_ID: "short", LATTICE_NODE__ID: "generic" } })
    expect(config.node.id).toBe("generic")
  })

  test("env text is typed by the schema: booleans, integers and comma lists", async () => {
    const { config } = await loadOk({
      env: {
        LATTICE_STORAGE__SYNC_ON_WRITE: "no",
        LATTICE_PERFORMANCE__BATCH_SIZE: "300",
        LATTICE_NATS: "nats://a:4222, nats://b:4222",
        LATTICE_MEMBERS: "n1,n2,n3",
        LATTICE_DATA_DIR: "/data/lattice",
        LATTICE_LISTEN_ETCD: "0.0.0.0:12379",
        LATTICE_LISTEN_HTTP: "0.0.0.0:12378",
        LATTICE_LISTEN_METRICS: "0.0.0.0:19090",
        LATTICE_TLS__HTTP__CERT_FILE: "/c.pem",
        LATTICE_TLS__HTTP__KEY_FILE: "/k.pem",
      },
    })
    expect(config.storage.sync_on_write).toBe(false)
    expect(config.performance.batch_size).toBe(300)
    expect(config.nats.urls).toEqual(["nats://a:4222", "nats://b:4222"])
    expect(config.cluster.members).toEqual(["n1", "n2", "n3"])
    expect(config.node.data_dir).toBe("/data/lattice")
    expect(config.listeners).toEqual({ etcd: "0.0.0.0:12379", http: "0.0.0.0:12378" })
    expect(config.telemetry.metrics_bind).toBe("0.0.0.0:19090")
    expect(config.tls.http).toEqual({ cert_file: "/c.pem", key_file: "/k.pem", client_auth: false })
  })

  test("a bad env value is reported with the variable that set it", async () => {
    const error = await loadErr({ env: { LATTICE_STORAGE__SYNC_ON_WRITE: "maybe" } })
    expect(error.issues).toEqual([
      {
        path: "storage.sync_on_write",
        message: 'expected boolean, got "maybe"',
        source: "env LATTICE_STORAGE__SYNC_ON_WRITE",
      },
    ])
  })

  test("an unknown LATTICE_X__Y variable is an error with a suggestion; other LATTICE_ names are ignored", async () => {
    const error = await loadErr({ env: { LATTICE_STORAGE__SYNC_ON_WRTE: "1", LATTICE_TEST_SEED: "7" } })
    expect(error.issues.map((i) => i.message)).toEqual([
      "unknown environment variable LATTICE_STORAGE__SYNC_ON_WRTE; did you mean LATTICE_STORAGE__SYNC_ON_WRITE?",
    ])
  })

  test("--set reaches any key and wins over named flags", async () => {
    const named = flags(["data-dir", ["node", "data_dir"], "/a"])
    const set = setFlagOverrides(["node.data_dir=/b", "consensus.pre_vote=false"])
    const { config } = await loadOk({
      flags: { overrides: [...named.overrides, ...set.overrides], issues: [] },
    })
    expect(config.node.data_dir).toBe("/b")
    expect(config.consensus.pre_vote).toBe(false)
  })

  test("--set with an unknown key or no '=' is reported", async () => {
    const set = setFlagOverrides(["storage.sync=1", "oops"])
    const error = await loadErr({ flags: set })
    expect(error.issues.map((i) => i.message)).toEqual([
      'unknown key; did you mean "storage.sync_on_write"?',
      '--set expects section.key=value, got "oops"',
    ])
  })

  test("LATTICE_CONFIG names the file when no file is given", async () => {
    const file = writeToml(FILE)
    const { config, file: used } = await loadOk({ env: { LATTICE_CONFIG: file } })
    expect(used).toBe(file)
    expect(config.node.id).toBe("file-node")
  })

  test("a list set from the environment owns its elements in error messages", async () => {
    const error = await loadErr({ env: { LATTICE_NATS: "nats://ok:1,http://bad" } })
    expect(error.issues).toEqual([
      {
        path: "nats.urls[1]",
        message: 'expected a NATS URL such as "nats://127.0.0.1:4222", got "http://bad"',
        source: "env LATTICE_NATS",
      },
    ])
  })
})

describe("every key through text", () => {
  // Each settable key, given its default as text, must decode back to the default: this
  // exercises the text coercion of every key kind (booleans, integers, lists, enums, ids).
  const settable = leafKeys().filter(
    (k) =>
      k.path.length === 2 && // keys inside optional tables (tls.*) would switch the table on
      k.kind !== "table-list" &&
      k.defaultValue !== undefined &&
      !(Array.isArray(k.defaultValue) && k.defaultValue.length === 0),
  )
  const asText = (value: unknown): string => (Array.isArray(value) ? value.join(",") : String(value))

  test("through the generic environment variables", async () => {
    const env = Object.fromEntries(settable.map((k) => [genericEnvName(k.path), asText(k.defaultValue)]))
    expect(Object.keys(env).length).toBeGreaterThan(35)
    const withEnv = await loadOk({ env })
    const plain = await loadOk({})
    expect(withEnv.config).toEqual(plain.config)
  })

  test("through --set", async () => {
    const set = setFlagOverrides(settable.map((k) => `${k.path.join(".")}=${asText(k.defaultValue)}`))
    expect(set.issues).toEqual([])
    const withSet = await loadOk({ flags: set })
    expect(withSet.config).toEqual((await loadOk({})).config)
  })

  test("every short environment name sets an existing key", () => {
    for (const [, path] of ENV_SHORTCUTS) expect(specAt(path)).toBeDefined()
  })
})

describe("paths", () => {
  test("a relative config file and data_dir are resolved against the working directory", async () => {
    const file = writeToml('[node]\nid = "rel"\ndata_dir = "state"\n', "relative.toml")
    const dir = file.slice(0, file.lastIndexOf("/"))
    const { config, file: used } = await loadOk({ env: { LATTICE_CONFIG: "relative.toml" }, cwd: dir })
    expect(used).toBe(file)
    expect(config.node.data_dir).toBe(`${dir}/state`)
  })
})
