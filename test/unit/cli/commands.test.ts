/** The registered commands, run in-process against real files in a temp directory. */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { type AddressInfo, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { parse } from "smol-toml"
import { runDevCluster } from "../../../src/cli/commands/dev.ts"
import { runNode } from "../../../src/cli/commands/start.ts"
import type { NodeConfig } from "../../../src/config/resolve.ts"
import { FREE_PORT_FLAGS } from "../../support/free-ports.ts"
import { runLattice } from "./capture.ts"

const temp = () => mkdtempSync(join(tmpdir(), "lattice-cli-test-"))

/** Hooks that record the configurations they are given instead of running nodes. */
const recordingRuntimes = (seen: NodeConfig[]) => ({
  runNode: (config: NodeConfig) =>
    Effect.sync(() => {
      seen.push(config)
      return 0
    }),
  runDevCluster: (configs: ReadonlyArray<NodeConfig>) =>
    Effect.sync(() => {
      seen.push(...configs)
      return 0
    }),
})

/** A TCP server on a free loopback port; it also stands in for a reachable NATS (a TCP check). */
const occupyPort = async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve))
  const port = (server.address() as AddressInfo).port
  return { port, natsUrl: `nats://127.0.0.1:${port}`, close: () => server.close() }
}

describe("lattice version", () => {
  test("--version and the version command print the package version and the runtime", async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dir, "../../../package.json"), "utf8"))
    for (const argv of [["--version"], ["version"]]) {
      const result = await runLattice(argv)
      expect(result.code).toBe(0)
      expect(result.stdout).toStartWith(`lattice ${pkg.version}\nruntime: bun ${Bun.version}`)
    }
  })
})

describe("lattice config", () => {
  test("generate writes a file that validate accepts (the runbook's commands)", async () => {
    const dir = temp()
    const file = join(dir, "etc/lattice/node4.toml")
    const gen = await runLattice(["config", "generate", "4", file, "--members", "1,2,3,4"], { cwd: dir })
    expect(gen.code).toBe(0)
    expect(gen.stderr).toBe(`wrote ${file} (node 4)\n`)
    const toml = parse(readFileSync(file, "utf8")) as { node: { id: string }; cluster: { members: string[] } }
    expect(toml.node.id).toBe("4")
    expect(toml.cluster.members).toEqual(["1", "2", "3", "4"])
    const ok = await runLattice(["config", "validate", file])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toBe(
      `OK ${file}: node 4, 4 member(s), etcd 127.0.0.1:2379, http 127.0.0.1:2378, metrics 127.0.0.1:9090, sync_on_write=true\n`,
    )
  })

  test("generate prints to stdout without OUT_FILE, and ignores the environment", async () => {
    const result = await runLattice(["config", "generate"], { env: { LATTICE_NODE_ID: "from-env" } })
    expect(result.code).toBe(0)
    expect((parse(result.stdout) as { node: { id: string } }).node.id).toBe("n1")
  })

  test("generate refuses to overwrite a file unless --force", async () => {
    const file = join(temp(), "node.toml")
    writeFileSync(file, "# keep me\n")
    const refused = await runLattice(["config", "generate", "n1", file])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("already exists; pass --force")
    expect(readFileSync(file, "utf8")).toBe("# keep me\n")
    expect((await runLattice(["config", "generate", "n1", file, "--force"])).code).toBe(0)
    expect(readFileSync(file, "utf8")).toContain('id = "n1"')
  })

  test("generate rejects invalid flag values without writing", async () => {
    const file = join(temp(), "node.toml")
    const result = await runLattice(["config", "generate", "n1", file, "--listen-etcd", "nope"])
    expect(result.code).toBe(78)
    expect(result.stderr).toContain('listeners.etcd: expected "host:port"')
    expect(result.stderr).toContain("(from flag --listen-etcd)")
    expect(existsSync(file)).toBe(false)
  })

  test("validate prints every problem with its line and exits 78", async () => {
    const file = join(temp(), "bad.toml")
    writeFileSync(file, '[storage]\nsync_on_write = "yes"\n\n[admin]\ndrain_timout_seconds = 3\n')
    const result = await runLattice(["config", "validate", file])
    expect(result.code).toBe(78)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain(`error: invalid configuration in ${file}: 2 problems`)
    expect(result.stderr).toContain(`storage.sync_on_write: expected boolean, got "yes" (from ${file}:2)`)
    expect(result.stderr).toContain(
      `admin.drain_timout_seconds: unknown key; did you mean "drain_timeout_seconds"? (from ${file}:5)`,
    )
  })

  test("validate reads --config or LATTICE_CONFIG, and needs one of them", async () => {
    const file = join(temp(), "ok.toml")
    writeFileSync(file, "[node]\nid = 'n9'\n")
    expect((await runLattice(["config", "validate", "--config", file])).stdout).toStartWith(
      `OK ${file}: node n9`,
    )
    expect((await runLattice(["config", "validate"], { env: { LATTICE_CONFIG: file } })).code).toBe(0)
    const none = await runLattice(["config", "validate"])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("no file to validate")
  })

  test("validate checks the file alone, not the environment", async () => {
    const file = join(temp(), "ok.toml")
    writeFileSync(file, "")
    const result = await runLattice(["config", "validate", file], {
      env: { LATTICE_STORAGE__SYNC_ON_WRITE: "x" },
    })
    expect(result.code).toBe(0)
  })

  test("show merges file < env < flags and prints TOML or JSON", async () => {
    const dir = temp()
    const file = join(dir, "node.toml")
    writeFileSync(
      file,
      '[node]\nid = "n1"\n\n[admin]\ndrain_timeout_seconds = 11\n[performance]\nbatch_size = 7\n',
    )
    const env = { LATTICE_ADMIN__DRAIN_TIMEOUT_SECONDS: "22", LATTICE_PERFORMANCE__BATCH_SIZE: "8" }
    const argv = ["config", "show", "--config", file, "--set", "performance.batch_size=9", "--data-dir", "d"]
    const json = await runLattice([...argv, "--format", "json"], { env, cwd: dir })
    expect(json.code).toBe(0)
    const config = JSON.parse(json.stdout)
    expect(config.node).toEqual({ id: "n1", data_dir: join(dir, "d") })
    expect(config.admin.drain_timeout_seconds).toBe(22)
    expect(config.performance.batch_size).toBe(9)
    const toml = await runLattice(argv, { env, cwd: dir })
    expect(parse(toml.stdout)).toEqual(config)
  })

  test("show rejects an unknown --format", async () => {
    const result = await runLattice(["config", "show", "--format", "yaml"])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--format must be "toml" or "json"')
  })
})

describe("lattice start", () => {
  test("validates, prints the summary, warns in one line about an unreachable NATS, then runs the node", async () => {
    const dataDir = join(temp(), "n2")
    const seen: NodeConfig[] = []
    const result = await runLattice(
      ["start", "--node-id", "n2", "--members", "n1,n2,n3", "--data-dir", dataDir, ...FREE_PORT_FLAGS],
      { env: { LATTICE_NATS: "nats://127.0.0.1:1" }, runtimes: recordingRuntimes(seen) },
    )
    expect(result.code).toBe(0)
    expect(seen.map((c) => c.node.id)).toEqual(["n2"])
    expect(result.stdout).toContain('node        n2 (cluster "lattice", members: n1, n2, n3)')
    expect(result.stdout).toContain(`data dir    ${dataDir}`)
    expect(result.stdout).toContain("nats        nats://127.0.0.1:1")
    expect(result.stderr).toBe(
      "warning: nats.urls: no NATS server answers (nats://127.0.0.1:1: ECONNREFUSED); start nats-server or fix --nats; the node keeps retrying\n",
    )
  })

  test("a port already in use is one line saying what to do, and the node is not started", async () => {
    const busy = await occupyPort()
    try {
      const seen: NodeConfig[] = []
      const result = await runLattice(
        [
          "start",
          "--data-dir",
          join(temp(), "n1"),
          ...FREE_PORT_FLAGS,
          "--listen-http",
          `127.0.0.1:${busy.port}`,
        ],
        { env: { LATTICE_NATS: busy.natsUrl }, runtimes: recordingRuntimes(seen) },
      )
      expect(result.code).toBe(1)
      expect(seen).toHaveLength(0)
      expect(result.stderr).toBe(
        `error: listeners.http: 127.0.0.1:${busy.port} is already in use (another lattice or etcd?); stop that process or choose another with --listen-http\n`,
      )
    } finally {
      busy.close()
    }
  })

  test("an unwritable data dir is one line saying what to do, and the node is not started", async () => {
    const file = join(temp(), "a-file")
    writeFileSync(file, "")
    const busy = await occupyPort()
    try {
      const seen: NodeConfig[] = []
      const result = await runLattice(["start", "--data-dir", join(file, "n1"), ...FREE_PORT_FLAGS], {
        env: { LATTICE_NATS: busy.natsUrl },
        runtimes: recordingRuntimes(seen),
      })
      expect(result.code).toBe(1)
      expect(seen).toHaveLength(0)
      expect(result.stderr).toBe(
        `error: node.data_dir: cannot create ${join(file, "n1")}: ${file} is not a directory; choose another with --data-dir\n`,
      )
    } finally {
      busy.close()
    }
  })

  test("passes the merged configuration to the node runtime hook", async () => {
    const dir = temp()
    const file = join(dir, "node4.toml")
    writeFileSync(file, '[cluster]\nmembers = ["1", "2", "4"]\n\n[storage]\nsync_on_write = false\n')
    const seen: NodeConfig[] = []
    const result = await runLattice(
      ["start", "4", file, ...FREE_PORT_FLAGS, "--nats", "nats://127.0.0.1:1"],
      {
        cwd: dir,
        runtimes: {
          runNode: (config) =>
            Effect.sync(() => {
              seen.push(config)
              return 0
            }),
          runDevCluster,
        },
      },
    )
    expect(result.code).toBe(0)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.node).toEqual({ id: "4", data_dir: join(dir, "data/4") })
    expect(seen[0]!.storage.sync_on_write).toBe(false)
    expect(seen[0]!.listeners.http).toBe("127.0.0.1:0")
    expect(result.stdout).toContain(`configuration from ${file}`)
  })

  test("an invalid configuration exits 78 before the runtime is called", async () => {
    let called = false
    const result = await runLattice(["start", "--listen-metrics", "127.0.0.1:2379"], {
      runtimes: {
        runNode: () =>
          Effect.sync(() => {
            called = true
            return 0
          }),
        runDevCluster,
      },
    })
    expect(result.code).toBe(78)
    expect(called).toBe(false)
    expect(result.stderr).toContain(
      "127.0.0.1:2379 is already used by listeners.etcd (from flag --listen-metrics)",
    )
  })

  test("positional NODE_ID and --node-id must agree", async () => {
    const result = await runLattice(["start", "4", "--node-id", "5"])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('NODE_ID "4" differs from --node-id "5"')
  })

  test("a missing config file names the next step", async () => {
    const result = await runLattice(["start", "--config", "/nonexistent/node.toml"])
    expect(result.code).toBe(78)
    expect(result.stderr).toContain("config file not found: /nonexistent/node.toml")
    expect(result.stderr).toContain("lattice config generate")
  })
})

describe("lattice dev", () => {
  test("builds, prints and hands over a 3-node configuration by default", async () => {
    const seen: NodeConfig[] = []
    const result = await runLattice(["dev"], { cwd: "/tmp/x", runtimes: recordingRuntimes(seen) })
    expect(result.code).toBe(0)
    expect(result.stdout).toStartWith("lattice dev: 3 node(s) in one process\n")
    expect(result.stdout).toContain('node        n3 (cluster "lattice", members: n1, n2, n3)')
    expect(seen.map((c) => c.node.data_dir)).toEqual([
      "/tmp/x/data/dev/n1",
      "/tmp/x/data/dev/n2",
      "/tmp/x/data/dev/n3",
    ])
  })

  test("the cluster runtime refuses a busy port in one line before starting any node", async () => {
    const seen: NodeConfig[] = []
    await runLattice(["dev", "--data-dir", temp()], { runtimes: recordingRuntimes(seen) })
    const busy = await occupyPort()
    try {
      // Port 0 everywhere (always free) except n2's HTTP listener, which a server holds.
      const configs = seen.map((c) => ({
        ...c,
        listeners: {
          ...c.listeners,
          etcd: "127.0.0.1:0",
          http: c.node.id === "n2" ? `127.0.0.1:${busy.port}` : "127.0.0.1:0",
        },
        telemetry: { ...c.telemetry, metrics_bind: "127.0.0.1:0" },
      }))
      let stderr = ""
      const io = { stdout: () => {}, stderr: (t: string) => void (stderr += t), env: {}, cwd: "/tmp" }
      expect(await Effect.runPromise(runDevCluster(configs, io))).toBe(1)
      expect(stderr).toBe(
        `error: lattice dev: 127.0.0.1:${busy.port} (listeners.http) is already in use (another lattice dev or etcd?); stop that process, then run lattice dev again\n`,
      )
    } finally {
      busy.close()
    }
  })

  test("hands one configuration per node, with distinct ports and data dirs, to the cluster hook", async () => {
    const seen: NodeConfig[] = []
    const result = await runLattice(
      ["dev", "--nodes", "5", "--data-dir", "/d", "--set", "consensus.tick_ms=20"],
      {
        runtimes: {
          runNode,
          runDevCluster: (configs) =>
            Effect.sync(() => {
              seen.push(...configs)
              return 0
            }),
        },
      },
    )
    expect(result.code).toBe(0)
    expect(seen.map((c) => c.node.id)).toEqual(["n1", "n2", "n3", "n4", "n5"])
    expect(seen.map((c) => c.node.data_dir)).toEqual(["/d/n1", "/d/n2", "/d/n3", "/d/n4", "/d/n5"])
    const addresses = seen.flatMap((c) => [c.listeners.etcd, c.listeners.http, c.telemetry.metrics_bind])
    expect(new Set(addresses).size).toBe(15)
    expect(seen.every((c) => c.consensus.tick_ms === 20 && c.cluster.members.length === 5)).toBe(true)
  })

  test("--nodes outside 1..9 is a usage error", async () => {
    expect((await runLattice(["dev", "--nodes", "0"])).code).toBe(2)
    expect((await runLattice(["dev", "--nodes", "x"])).code).toBe(2)
  })
})

describe("lattice status", () => {
  test("an endpoint with nothing listening is Unreachable, and the exit code is 69", async () => {
    const closed = await occupyPort()
    closed.close()
    const table = await runLattice(["status", "--endpoints", `127.0.0.1:${closed.port}`])
    expect(table.code).toBe(69)
    expect(table.stdout).toStartWith("Cluster: Unavailable (no node answered)\nNo quorum: ❌")
    expect(table.stdout).toContain(`Endpoint http://127.0.0.1:${closed.port}: ❌ unreachable`)
    expect(table.stdout).not.toContain("Healthy")
    expect(table.stdout).not.toContain("Quorum")
    const json = await runLattice(["status", "--format", "json", "--endpoints", `127.0.0.1:${closed.port}`])
    expect(json.code).toBe(69)
    expect(JSON.parse(json.stdout)).toMatchObject({
      verdict: "Unavailable",
      quorum: false,
      endpoints: [{ endpoint: `http://127.0.0.1:${closed.port}`, status: null }],
    })
  })

  test("an unknown --format is a usage error", async () => {
    const result = await runLattice(["status", "--format", "yaml"])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--format must be text or json, got "yaml"')
  })
})

describe("usage errors", () => {
  test("unknown commands and flags exit 2 with a suggestion", async () => {
    const command = await runLattice(["stauts"])
    expect(command.code).toBe(2)
    expect(command.stderr).toBe(
      'error: unknown command: "stauts"; did you mean "start"?\nRun "lattice --help" for usage.\n',
    )
    const flag = await runLattice(["config", "show", "--fromat", "json"])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain('did you mean "--format"?')
  })
})
