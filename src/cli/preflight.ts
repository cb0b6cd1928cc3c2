/**
 * Checks `lattice start` runs before handing the configuration to the node runtime, so the
 * common start-up failures each get one line that says what to do:
 *   - a data directory that cannot be created or written (fatal);
 *   - a listener address already in use, or not on this host (fatal);
 *   - a NATS server that does not answer (a warning: the node keeps retrying, and NATS may
 *     simply start later).
 */
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { dirname, join } from "node:path"
import { Effect } from "effect"
import type { NodeConfig } from "../config/resolve.ts"

export interface PreflightReport {
  readonly errors: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
}

const isWritableDir = (dir: string): string | undefined => {
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`
    accessSync(dir, constants.W_OK)
    return undefined
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EACCES" ? `${dir} is not writable` : String(e)
  }
}

const WRITE_FAILURES: Record<string, string> = {
  EACCES: "is not writable",
  EPERM: "is not writable",
  EROFS: "is on a read-only file system",
  ENOSPC: "is on a full disk",
}

/**
 * Creates the directory (the node would) and writes and removes a probe file: permission bits
 * alone miss read-only mounts, full disks and pseudo file systems, and root passes access().
 */
const probeWrite = (dir: string): string | undefined => {
  const probe = join(dir, `.lattice-preflight-${process.pid}`)
  try {
    mkdirSync(dir, { recursive: true })
    writeFileSync(probe, "")
    rmSync(probe)
    return undefined
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e)
    return `${dir} ${WRITE_FAILURES[code] ?? `cannot be written (${code})`}`
  }
}

/** The data dir must be writable, or creatable: its nearest existing ancestor writable. */
export const checkDataDir = (dir: string): string | undefined => {
  let existing = dir
  for (;;) {
    try {
      statSync(existing)
      break
    } catch {
      const parent = dirname(existing)
      if (parent === existing) break
      existing = parent
    }
  }
  const problem = isWritableDir(existing) ?? probeWrite(dir)
  if (problem === undefined) return undefined
  const action = existing === dir ? "use" : "create"
  const fix = problem.endsWith("not writable")
    ? `fix its permissions (for example \`sudo mkdir -p ${dir} && sudo chown $(id -u) ${dir}\`) or choose another with --data-dir`
    : "choose another with --data-dir"
  return `node.data_dir: cannot ${action} ${dir}: ${problem}; ${fix}`
}

const splitHostPort = (address: string): { host: string; port: number } => {
  const colon = address.lastIndexOf(":")
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(colon + 1)) }
}

/** Bind and release the address; the error code says why it cannot be used. */
export const checkBindable = (address: string): Promise<string | undefined> =>
  new Promise((resolve) => {
    const { host, port } = splitHostPort(address)
    const server = createServer()
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })

const LISTENER_FLAGS: Record<string, string> = {
  "listeners.etcd": "--listen-etcd",
  "listeners.http": "--listen-http",
  "telemetry.metrics_bind": "--listen-metrics",
  "listeners.redis": "--set listeners.redis=HOST:PORT",
  "listeners.memcached": "--set listeners.memcached=HOST:PORT",
}

const listenerProblem = (key: string, address: string, code: string): string => {
  const fix = `choose another with ${LISTENER_FLAGS[key] ?? key}`
  switch (code) {
    case "EADDRINUSE":
      return `${key}: ${address} is already in use (another lattice or etcd?); stop that process or ${fix}`
    case "EADDRNOTAVAIL":
      return `${key}: ${address} is not an address of this host; ${fix}`
    case "EACCES":
      return `${key}: ${address}: permission denied (ports below 1024 need privileges); ${fix}`
    default:
      return `${key}: cannot listen on ${address} (${code}); ${fix}`
  }
}

/** Open and close a TCP connection to the NATS server; undefined when it answers. */
export const checkTcpReachable = (url: string, timeoutMs: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const parsed = new URL(url)
    const port = parsed.port === "" ? 4222 : Number(parsed.port)
    const socket = createConnection({ host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port })
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      resolve(`no answer within ${timeoutMs} ms`)
    })
    socket.once("connect", () => {
      socket.end()
      resolve(undefined)
    })
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
  })

/** The addresses a node will listen on, by configuration key. */
export const listenerAddresses = (config: NodeConfig): Array<readonly [string, string]> => {
  const listeners: Array<readonly [string, string | undefined]> = [
    ["listeners.etcd", config.listeners.etcd],
    ["listeners.http", config.listeners.http],
    ["listeners.redis", config.listeners.redis],
    ["listeners.memcached", config.listeners.memcached],
    ["telemetry.metrics_bind", config.telemetry.metrics_enabled ? config.telemetry.metrics_bind : undefined],
  ]
  return listeners.filter((l): l is readonly [string, string] => l[1] !== undefined)
}

/** The listeners that cannot be bound, with the reason code (EADDRINUSE, …). */
export const unbindableListeners = async (
  config: NodeConfig,
): Promise<Array<{ key: string; address: string; code: string }>> => {
  const out: Array<{ key: string; address: string; code: string }> = []
  for (const [key, address] of listenerAddresses(config)) {
    const code = await checkBindable(address)
    if (code !== undefined) out.push({ key, address, code })
  }
  return out
}

export const preflight = (config: NodeConfig): Effect.Effect<PreflightReport> =>
  Effect.promise(async () => {
    const errors: string[] = []
    const dataDir = checkDataDir(config.node.data_dir)
    if (dataDir !== undefined) errors.push(dataDir)
    for (const l of await unbindableListeners(config)) errors.push(listenerProblem(l.key, l.address, l.code))
    const answers = await Promise.all(
      config.nats.urls.map((url) => checkTcpReachable(url, config.nats.connect_timeout_ms)),
    )
    const warnings = answers.every((a) => a !== undefined)
      ? [
          `nats.urls: no NATS server answers (${config.nats.urls.map((u, i) => `${u}: ${answers[i]}`).join("; ")}); start nats-server or fix --nats; the node keeps retrying`,
        ]
      : []
    return { errors, warnings }
  })
