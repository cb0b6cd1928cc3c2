/**
 * A 3-node Lattice cluster on loopback: one nats-server and one `lattice start` process per node,
 * default settings (so writes are fsynced: storage.sync_on_write=true).
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Cluster } from "./cluster.ts"
import { freePorts, LOOPBACK, waitForPort } from "./ports.ts"
import { type Child, spawnChild } from "./processes.ts"

const NATS_BINARY = "nats-server"

/**
 * nats-server runs with GOMAXPROCS=1, as docs/transport.md recommends where it shares a small
 * machine with the nodes: each message then passes between its reader and writer goroutines on
 * one OS thread instead of waking another. On the 2-core test VM that took a quarter off its CPU
 * per put (docs/benchmarks.md, "Eleventh pass"). `NATS_GOMAXPROCS=default` leaves Go's default
 * (one per core); any other value is passed on.
 */
const natsEnv = (): Record<string, string | undefined> | undefined => {
  const wanted = process.env.NATS_GOMAXPROCS ?? "1"
  return wanted === "default" ? undefined : { ...process.env, GOMAXPROCS: wanted }
}

/**
 * `sourceRoot` is the tree whose src/cli/main.ts is run (see source-tree.ts); `runtimeArgs` go to
 * Bun before the script (for example its CPU profiler flags); `env` replaces the nodes' environment.
 */
export const startLatticeCluster = async (
  baseDir: string,
  sourceRoot: string,
  size = 3,
  runtimeArgs: readonly string[] = [],
  env?: Readonly<Record<string, string | undefined>>,
): Promise<
  Cluster & {
    readonly terminate: () => Promise<void>
    readonly pids: () => number[]
    /** The nats-server process the nodes share. */
    readonly natsPid: number
    /** http://host:port of nats-server's monitoring endpoint (/varz: messages and bytes in and out). */
    readonly natsMonitor: string
    /** http://host:port of each node's HTTP listener (/metrics, /v1/status), in node order. */
    readonly httpEndpoints: readonly string[]
  }
> => {
  const ports = await freePorts(size * 3 + 2)
  const natsPort = ports[size * 3] as number
  const natsMonitorPort = ports[size * 3 + 1] as number
  const names = Array.from({ length: size }, (_, i) => `n${i + 1}`)
  const port = (i: number, which: 0 | 1 | 2) => ports[i * 3 + which] as number
  mkdirSync(baseDir, { recursive: true })
  const nats = spawnChild(
    "nats",
    [NATS_BINARY, "-a", LOOPBACK, "-p", String(natsPort), "-m", String(natsMonitorPort)],
    join(baseDir, "nats.log"),
    undefined,
    natsEnv(),
  )
  await waitForPort(natsPort, "nats-server")
  const command = (i: number) => [
    process.execPath,
    ...runtimeArgs,
    join(sourceRoot, "src/cli/main.ts"),
    "start",
    "--node-id",
    names[i] as string,
    "--members",
    names.join(","),
    "--nats",
    `nats://${LOOPBACK}:${natsPort}`,
    "--data-dir",
    join(baseDir, names[i] as string),
    "--listen-etcd",
    `${LOOPBACK}:${port(i, 0)}`,
    "--listen-http",
    `${LOOPBACK}:${port(i, 1)}`,
    "--listen-metrics",
    `${LOOPBACK}:${port(i, 2)}`,
  ]
  const nodes: (Child | null)[] = names.map(() => null)
  const launch = (i: number) => {
    nodes[i] = spawnChild(names[i] as string, command(i), join(baseDir, `${names[i]}.log`), sourceRoot, env)
  }
  for (let i = 0; i < names.length; i++) launch(i)
  return {
    system: "lattice",
    endpoints: names.map((_, i) => `${LOOPBACK}:${port(i, 0)}`),
    httpEndpoints: names.map((_, i) => `http://${LOOPBACK}:${port(i, 1)}`),
    crash: async (i) => {
      await nodes[i]?.kill9()
    },
    restart: async (i) => launch(i),
    stop: async () => {
      await Promise.all(nodes.map((n) => n?.kill9()))
      await nats.kill9()
    },
    pids: () => nodes.flatMap((n) => (n === null ? [] : [n.pid])),
    natsPid: nats.pid,
    natsMonitor: `http://${LOOPBACK}:${natsMonitorPort}`,
    terminate: async () => {
      await Promise.all(nodes.map((n) => n?.terminate()))
      await nats.kill9()
    },
  }
}
