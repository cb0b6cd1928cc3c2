/** Problems are reported with the file, line, dotted key, expected type and a next step. */
import { describe, expect, test } from "bun:test"
import { loadErr, loadOk, writeToml } from "./support.ts"

describe("config errors", () => {
  test("a value of the wrong type names the key, the expected type, the value and the line", async () => {
    const file = writeToml('[storage]\nsync_on_write = true\nmax_wal_size_mb = "big"\n')
    const error = await loadErr({ file })
    expect(error._tag).toBe("ConfigError")
    expect(error.file).toBe(file)
    expect(error.issues).toEqual([
      { path: "storage.max_wal_size_mb", message: 'expected integer ≥ 1, got "big"', source: `${file}:3` },
    ])
    expect(error.message).toContain(
      `storage.max_wal_size_mb: expected integer ≥ 1, got "big" (from ${file}:3)`,
    )
    expect(error.message).toContain("hint:")
  })

  test("values out of range and bad enums are reported with their range or choices", async () => {
    const file = writeToml(
      '[consensus]\ntick_ms = 0\n\n[telemetry]\nlog_format = "xml"\nmetrics_bind = "localhost"\n\n[sharding]\nkpg_count = 1.5\n',
    )
    const error = await loadErr({ file })
    const byPath = Object.fromEntries(error.issues.map((i) => [i.path, i]))
    expect(byPath["consensus.tick_ms"]!.message).toBe("expected integer 1..10000, got 0")
    expect(byPath["consensus.tick_ms"]!.source).toBe(`${file}:2`)
    expect(byPath["telemetry.log_format"]!.message).toBe('expected "json" | "text", got "xml"')
    expect(byPath["telemetry.metrics_bind"]!.message).toContain('expected "host:port"')
    expect(byPath["sharding.kpg_count"]!.message).toBe("expected integer 1..4096, got 1.5")
    expect(error.issues).toHaveLength(4)
  })

  test("an unknown key is an error that suggests the closest known key", async () => {
    const file = writeToml("[storage]\nsync_on_writ = false\n")
    const error = await loadErr({ file })
    expect(error.issues).toEqual([
      {
        path: "storage.sync_on_writ",
        message: 'unknown key; did you mean "sync_on_write"?',
        source: `${file}:2`,
      },
    ])
  })

  test("an unknown section suggests the closest section, or the section that holds it", async () => {
    const error = await loadErr({ file: writeToml("[admn]\n\n[raft]\ntick_ms = 10\n") })
    const messages = Object.fromEntries(error.issues.map((i) => [i.path, i.message]))
    expect(messages.admn).toBe('unknown section or top-level key; did you mean "admin"?')
    expect(messages.raft).toBe('unknown section or top-level key; did you mean "consensus"?')
  })

  test("unknown keys inside arrays of tables are found with their index and line", async () => {
    const file = writeToml('[[cluster.peers]]\nid = "n1"\n\n[[cluster.peers]]\nid = "n2"\nadress = "x:1"\n')
    const error = await loadErr({ file, env: { LATTICE_NODE_ID: "n1" } })
    expect(error.issues).toEqual([
      {
        path: "cluster.peers[1].adress",
        message: 'unknown key; did you mean "address"?',
        source: `${file}:6`,
      },
    ])
  })

  test("a missing required key inside a table says it is required", async () => {
    const error = await loadErr({ file: writeToml('[tls.http]\ncert_file = "/c.pem"\n') })
    expect(error.issues.map((i) => [i.path, i.message])).toEqual([
      ["tls.http.key_file", "is required (non-empty string)"],
    ])
  })

  test("a TOML syntax error gives file, line and column", async () => {
    const file = writeToml('[node]\nid = "n1"\ndata_dir = = 3\n')
    const error = await loadErr({ file })
    expect(error.summary).toStartWith(`${file}:3:`)
    expect(error.summary).toContain("TOML syntax error")
    expect(error.hint).toContain("line 3")
  })

  test("a duplicate table is a syntax error on the line of the second one", async () => {
    const file = writeToml("[admin]\ndrain_timeout_seconds = 1\n\n[admin]\n")
    const error = await loadErr({ file })
    expect(error.summary).toStartWith(`${file}:4:`)
  })

  test("a missing file says how to create one", async () => {
    const error = await loadErr({ file: "/nonexistent/lattice.toml" })
    expect(error.summary).toBe("config file not found: /nonexistent/lattice.toml")
    expect(error.hint).toContain("lattice config generate")
  })

  test("all problems in a file are reported at once", async () => {
    const error = await loadErr({
      file: writeToml("[storage]\nsync_on_write = 1\n\n[admin]\ndrain_timeout_seconds = -1\n\n[bogus]\n"),
    })
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      ["admin.drain_timeout_seconds", "bogus", "storage.sync_on_write"].sort(),
    )
    expect(error.summary).toContain("3 problems")
  })
})

describe("config cross-key checks", () => {
  test("two listeners on the same address are rejected", async () => {
    const error = await loadErr({ env: { LATTICE_LISTEN_METRICS: "127.0.0.1:2379" } })
    expect(error.issues).toEqual([
      {
        path: "telemetry.metrics_bind",
        message: "127.0.0.1:2379 is already used by listeners.etcd",
        source: "env LATTICE_LISTEN_METRICS",
      },
    ])
  })

  test("port 0 (any free port) never clashes", async () => {
    const file = writeToml('[listeners]\netcd = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    const error = await loadErr({ file, env: { LATTICE_LISTEN_METRICS: "bad" } })
    expect(error.issues.map((i) => i.path)).toEqual(["telemetry.metrics_bind"])
  })

  test("the node must be one of the members when members are listed", async () => {
    const error = await loadErr({ env: { LATTICE_NODE_ID: "n4", LATTICE_MEMBERS: "n1,n2,n3" } })
    expect(error.issues[0]!.path).toBe("node.id")
    expect(error.issues[0]!.source).toBe("env LATTICE_NODE_ID")
    expect(error.issues[0]!.message).toContain('"n4" is not among the cluster members (n1, n2, n3)')
  })

  test("a joining node (--join) may be outside the members, but needs the members listed", async () => {
    const file = writeToml('[cluster]\nmembers = ["n1", "n2", "n3"]\njoin = true\n')
    const ok = await loadOk({ file, env: { LATTICE_NODE_ID: "n4" } })
    expect(ok.config.cluster.join).toBe(true)
    const alone = await loadErr({
      file: writeToml("[cluster]\njoin = true\n"),
      env: { LATTICE_NODE_ID: "n4" },
    })
    expect(alone.issues.map((i) => i.path)).toEqual(["cluster.join"])
  })

  test("election_ticks must exceed heartbeat_ticks", async () => {
    const error = await loadErr({ file: writeToml("[consensus]\nelection_ticks = 3\nheartbeat_ticks = 3\n") })
    expect(error.issues.map((i) => i.path)).toEqual(["consensus.election_ticks"])
  })

  test("the readiness probe must run more often than the CP cache goes stale", async () => {
    const error = await loadErr({
      file: writeToml("[admin]\nreadiness_probe_interval_ms = 2000\ncp_cache_ttl_seconds = 2\n"),
    })
    expect(error.issues.map((i) => i.path)).toEqual(["admin.readiness_probe_interval_ms"])
    expect(error.issues[0]?.message).toContain("must be below admin.cp_cache_ttl_seconds (2 s)")
  })

  test("duplicate peer ids and tenant names are rejected", async () => {
    const file = writeToml(
      '[[cluster.peers]]\nid = "n1"\n[[cluster.peers]]\nid = "n1"\n[[tenants.bootstrap]]\nname = "a"\n[[tenants.bootstrap]]\nname = "a"\n',
    )
    const error = await loadErr({ file })
    expect(error.issues.map((i) => [i.path, i.source])).toEqual([
      ["cluster.peers[1].id", `${file}:4`],
      ["tenants.bootstrap[1].name", `${file}:8`],
    ])
  })
})
