/**
 * Real `lattice start` processes over a real nats-server on loopback, for integration tests: the
 * compiled binary (dist/lattice, rebuilt when older than the sources), free ports, an HTTP client,
 * a background writer, SIGKILL and restart. LATTICE_BIN=src runs the sources instead;
 * LATTICE_BIN=/path/to/lattice runs that binary.
 */
import { Database } from "bun:sqlite"
import { afterAll, beforeAll, expect } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Subprocess } from "bun"
import type { NodeStatusReport } from "../../../src/node/status-report.ts"
import { freePort, type NatsServer, startNatsServer } from "../../support/nats-server.ts"
import { collectOutput } from "../../support/process-output.ts"
import { startTcpProxy, type TcpProxy } from "../../support/tcp-proxy.ts"

const ROOT = join(import.meta.dir, "../../..")
const DIST = join(ROOT, "dist/lattice")
export const hasNats = existsSync("/usr/bin/nats-server") || Bun.which("nats-server") !== null
/** The KV Raft group (src/node/node.ts KV_GROUP). */
const KV_GROUP = 1

const newestSourceMtime = (dir: string): number => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** Builds dist/lattice (as `npm run build`) when missing or older than src/, actors/ or schemas/. */
const ensureBinary = (): void => {
  const newest = Math.max(...["src", "actors", "schemas"].map((d) => newestSourceMtime(join(ROOT, d))))
  if (existsSync(DIST) && statSync(DIST).mtimeMs >= newest) return
  console.log("processes.test: building dist/lattice (bun build --compile), ~3 s")
  mkdirSync(join(ROOT, "dist"), { recursive: true })
  const tmpDir = mkdtempSync(join(ROOT, "dist/.build-"))
  try {
    const out = join(tmpDir, "lattice")
    const build = Bun.spawnSync(
      [
        process.execPath,
        "build",
        "--compile",
        "--bytecode",
        "--minify",
        "--sourcemap",
        "src/cli/main.ts",
        // A second entrypoint: the WAL checkpoint worker (src/node/wal-checkpointer.ts).
        "src/node/checkpoint-worker.ts",
        "--outfile",
        out,
      ],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
    )
    if (build.exitCode !== 0) throw new Error(`bun build failed:\n${build.stderr.toString()}`)
    // Renamed into place so a concurrent run never starts a half-written binary.
    if (existsSync(`${out}.map`)) renameSync(`${out}.map`, `${DIST}.map`)
    renameSync(out, DIST)
  } finally {
    rmSync(tmpDir, { recursive: true, force: true })
  }
}

/** The command that runs `lattice`: the compiled binary unless LATTICE_BIN says otherwise. */
export const latticeCommand = (): string[] => {
  const bin = process.env.LATTICE_BIN
  if (bin === "src") return [process.execPath, join(ROOT, "src/cli/main.ts")]
  if (bin !== undefined && bin !== "") return [bin]
  ensureBinary()
  return [DIST]
}

interface RangeJson {
  readonly kvs?: readonly { readonly key: string; readonly value: string }[]
}

const b64 = (s: string) => Buffer.from(s).toString("base64")

/** Reads one number from a node's raft.db (WAL mode: safe while the node runs, or after a crash). */
const queryRaftDb = (dataDir: string, sql: string): number => {
  const db = new Database(join(dataDir, "raft.db"))
  try {
    const row = db.query(sql).get(KV_GROUP) as { v: number | null } | null
    return row?.v ?? 0
  } finally {
    db.close()
  }
}
export const lastLogIndex = (dataDir: string) =>
  queryRaftDb(dataDir, "SELECT MAX(idx) AS v FROM raft_entry WHERE group_id = ?")
export const firstLogIndex = (dataDir: string) =>
  queryRaftDb(dataDir, "SELECT MIN(idx) AS v FROM raft_entry WHERE group_id = ?")
export const snapshotIndex = (dataDir: string) =>
  queryRaftDb(dataDir, "SELECT idx AS v FROM raft_snapshot WHERE group_id = ?")

export interface ProcessClusterOptions {
  /** Each node reaches nats-server through its own TCP proxy (`proxy(id).cut()` isolates it). */
  readonly proxied?: boolean
  /** Nodes not started with the others: `spawn(id)` starts them with --join (lattice admin add-node). */
  readonly joining?: readonly string[]
}

/** N `lattice start` processes over one nats-server, with an HTTP client and a background writer. */
export const processCluster = (
  ids: readonly string[],
  extraFlags: readonly string[],
  options: ProcessClusterOptions = {},
) => {
  let nats: NatsServer
  let dir: string
  let command: string[]
  const procs = new Map<string, Subprocess>()
  const ports = new Map<string, { etcd: number; http: number }>()
  const proxies = new Map<string, TcpProxy>()
  const joining = options.joining ?? []
  const members = ids.filter((id) => !joining.includes(id))
  const dataDir = (id: string) => join(dir, id)

  /** The command line that starts node `id` (what `spawn` runs; scripts under test run it too). */
  const argv = (id: string): string[] => {
    const p = ports.get(id)!
    return [
      ...command,
      "start",
      "--node-id",
      id,
      "--members",
      members.join(","),
      ...(joining.includes(id) ? ["--join"] : []),
      "--data-dir",
      dataDir(id),
      "--nats",
      proxies.get(id)?.url ?? nats.url,
      "--listen-etcd",
      `127.0.0.1:${p.etcd}`,
      "--listen-http",
      `127.0.0.1:${p.http}`,
      "--set",
      "consensus.tick_ms=20",
      "--set",
      "telemetry.metrics_enabled=false",
      ...extraFlags,
    ]
  }

  const spawn = (id: string) => {
    const proc = Bun.spawn(
      argv(id),
      // Output goes to a file (a pipe nobody reads would fill and block the node).
      {
        cwd: ROOT,
        stdin: "ignore",
        stdout: Bun.file(join(dir, `${id}.log`)),
        stderr: Bun.file(join(dir, `${id}.err`)),
      },
    )
    procs.set(id, proc)
  }

  const kill = async (id: string) => {
    const proc = procs.get(id)!
    proc.kill("SIGKILL")
    await proc.exited
  }

  /** Sends `sig` to node `id` (SIGTERM, SIGSTOP, SIGCONT…) without waiting for it. */
  const signal = (id: string, sig: NodeJS.Signals) => procs.get(id)!.kill(sig)

  /** Node `id`'s exit code once it has exited (null if still running after `timeoutMs`). */
  const exitCode = async (id: string, timeoutMs: number): Promise<number | null> => {
    const proc = procs.get(id)!
    return Promise.race([proc.exited, Bun.sleep(timeoutMs).then(() => null)])
  }

  const call = async (
    id: string,
    path: string,
    body: unknown,
  ): Promise<{ status: number; json: RangeJson }> => {
    const res = await fetch(`http://127.0.0.1:${ports.get(id)!.http}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(8000),
    })
    return { status: res.status, json: (await res.json()) as RangeJson }
  }

  const status = async (id: string): Promise<NodeStatusReport> => {
    const res = await fetch(`http://127.0.0.1:${ports.get(id)!.http}/v1/status`, {
      signal: AbortSignal.timeout(2000),
    })
    return (await res.json()) as NodeStatusReport
  }

  /** The leader every node of `among` agrees on (about 15 s at most). */
  const leaderOf = async (among: readonly string[]): Promise<string> => {
    for (let i = 0; i < 300; i++) {
      const seen = new Set<string | null>()
      for (const id of among) {
        try {
          seen.add((await status(id)).groups[0]?.leader ?? null)
        } catch {
          seen.add(null)
        }
      }
      const [only] = [...seen]
      if (seen.size === 1 && only !== null && only !== undefined && among.includes(only)) return only
      await Bun.sleep(50)
    }
    throw new Error(`no agreed leader among ${among.join(", ")}`)
  }

  /** Writes k<n> = v<n> through every node in turn; only 200 answers count as acknowledged. */
  const startWriter = (through: readonly string[] = ids) => {
    const acked = new Map<string, string>()
    let stop = false
    let n = 0
    const done = (async () => {
      while (!stop) {
        const key = `k${n}`
        const value = `v${n++}`
        const via = through[n % through.length]!
        try {
          const r = await call(via, "/v3/kv/put", { key: b64(key), value: b64(value) })
          if (r.status === 200) acked.set(key, value)
        } catch {
          // the node asked may be dead or mid-election: outcome unknown, not acknowledged
        }
      }
    })()
    const ackedAtLeast = async (count: number) => {
      for (let i = 0; i < 3000 && acked.size < count; i++) await Bun.sleep(10)
      if (acked.size < count) throw new Error(`only ${acked.size} of ${count} writes acknowledged`)
    }
    return {
      acked,
      ackedAtLeast,
      stop: async () => {
        stop = true
        await done
      },
    }
  }

  /** Every acknowledged write is readable, linearizably, through every node. */
  const expectAllAcked = async (acked: ReadonlyMap<string, string>, among: readonly string[] = ids) => {
    for (const id of among) {
      const r = await call(id, "/v3/kv/range", { key: b64("k"), range_end: b64("l") })
      expect(r.status).toBe(200)
      const got = new Map<string, string>(
        (r.json.kvs ?? []).map((kv) => [
          Buffer.from(kv.key, "base64").toString(),
          Buffer.from(kv.value, "base64").toString(),
        ]),
      )
      const lost = [...acked].filter(([k, v]) => got.get(k) !== v).map(([k]) => k)
      expect({ node: id, lost }).toEqual({ node: id, lost: [] })
    }
  }

  beforeAll(async () => {
    command = latticeCommand()
    nats = await startNatsServer()
    dir = mkdtempSync(join(tmpdir(), "lattice-procs-"))
    for (const id of ids) ports.set(id, { etcd: await freePort(), http: await freePort() })
    if (options.proxied === true) for (const id of ids) proxies.set(id, await startTcpProxy(nats.port))
    for (const id of members) spawn(id)
    // Building the binary takes several seconds on a busy machine: more than bun's 5 s default.
  }, 120_000)
  afterAll(async () => {
    for (const p of procs.values()) p.kill("SIGKILL")
    await Promise.all([...procs.values()].map((p) => p.exited))
    for (const p of proxies.values()) await p.stop()
    await nats.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** A node's etcd gRPC address. */
  const etcdEndpoint = (id: string) => `127.0.0.1:${ports.get(id)!.etcd}`

  /** A node's HTTP listener, as the CLI's --endpoints takes it. */
  const httpEndpoint = (id: string) => `http://127.0.0.1:${ports.get(id)!.http}`

  /** Runs the `lattice` CLI (same binary as the nodes) and returns its exit code and output. */
  const cli = async (args: readonly string[]) => {
    const proc = Bun.spawn([...command, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" })
    const { code, out, err } = await collectOutput(proc)
    return { code, out, err }
  }

  /** The proxy between a node and nats-server (only with `proxied`). */
  const proxy = (id: string): TcpProxy => {
    const p = proxies.get(id)
    if (p === undefined) throw new Error(`node ${id} has no proxy: use processCluster(…, { proxied: true })`)
    return p
  }

  /** A node's log so far (stdout and stderr). */
  const logOf = async (id: string) =>
    `${await Bun.file(join(dir, `${id}.log`)).text()}${await Bun.file(join(dir, `${id}.err`)).text()}`

  /** The temp dir holding data dirs and logs (scripts under test may write there too). */
  const workDir = () => dir
  /** The `lattice` command line (binary, or bun + sources), for scripts under test. */
  const cliCommand = () => command

  return {
    spawn,
    argv,
    kill,
    signal,
    exitCode,
    status,
    leaderOf,
    startWriter,
    expectAllAcked,
    dataDir,
    call,
    etcdEndpoint,
    httpEndpoint,
    cli,
    proxy,
    logOf,
    workDir,
    cliCommand,
  }
}
