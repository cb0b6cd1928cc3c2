/**
 * Starts and stops a real `nats-server` on a free loopback port, for integration tests.
 *
 *   const nats = await startNatsServer()          // nats.url = "nats://127.0.0.1:PORT"
 *   await nats.kill()                             // SIGKILL, like a crash
 *   await nats.restart()                          // same port, so clients reconnect
 *   await nats.stop()                             // SIGTERM, waits for exit
 *
 * Or per test file: `const nats = useNatsServer()` registers beforeAll/afterAll; call
 * `nats().url` inside tests.
 */
import { afterAll, beforeAll } from "bun:test"
import { existsSync } from "node:fs"
import { createConnection, createServer } from "node:net"

export interface NatsServerOptions {
  /** Defaults to a free port chosen at start. */
  readonly port?: number
  /** Extra nats-server arguments (for example ["--user", "u", "--pass", "p"] or ["-c", "file.conf"]). */
  readonly args?: readonly string[]
  /** Defaults to /usr/bin/nats-server, or `nats-server` on PATH. */
  readonly binary?: string
  /** Print the server's log (stderr) to the test output. */
  readonly verbose?: boolean
}

export interface NatsServer {
  readonly port: number
  readonly url: string
  readonly isRunning: () => boolean
  /** SIGTERM and wait for exit. Safe to call twice. */
  readonly stop: () => Promise<void>
  /** SIGKILL and wait for exit (a crash). */
  readonly kill: () => Promise<void>
  /** Start again on the same port (after stop or kill). */
  readonly restart: () => Promise<void>
}

const HOST = "127.0.0.1"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const waitUntil = async (check: () => Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (await check()) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const defaultBinary = () => (existsSync("/usr/bin/nats-server") ? "/usr/bin/nats-server" : "nats-server")

export const startNatsServer = async (options: NatsServerOptions = {}): Promise<NatsServer> => {
  const port = options.port ?? (await freePort())
  const binary = options.binary ?? defaultBinary()
  let proc: ReturnType<typeof Bun.spawn> | null = null

  const spawn = async () => {
    // The port may linger briefly after a kill; retry the spawn until the server listens.
    await waitUntil(async () => {
      proc = Bun.spawn([binary, "-a", HOST, "-p", String(port), ...(options.args ?? [])], {
        stdout: "ignore",
        stderr: options.verbose ? "inherit" : "ignore",
      })
      const started = proc
      const up = await Promise.race([
        waitUntil(() => canConnect(port), `nats-server on ${port}`, 3_000).then(() => true),
        started.exited.then(() => false),
      ]).catch(() => false)
      if (!up) started.kill("SIGKILL")
      return up
    }, `nats-server to listen on ${HOST}:${port}`)
  }

  const signal = async (sig: "SIGTERM" | "SIGKILL") => {
    const running = proc
    proc = null
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    running.kill(sig)
    await running.exited
    await waitUntil(async () => !(await canConnect(port)), `port ${port} to close`)
  }

  await spawn()
  return {
    port,
    url: `nats://${HOST}:${port}`,
    isRunning: () => proc !== null,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    restart: async () => {
      await signal("SIGTERM")
      await spawn()
    },
  }
}

/** Starts one nats-server for the current test file and stops it after all tests. */
export const useNatsServer = (options: NatsServerOptions = {}): (() => NatsServer) => {
  let server: NatsServer | null = null
  beforeAll(async () => {
    server = await startNatsServer(options)
  })
  afterAll(async () => {
    await server?.stop()
  })
  return () => {
    if (!server)
      throw new Error("nats-server is not started: call useNatsServer() at the top level of the file")
    return server
  }
}
