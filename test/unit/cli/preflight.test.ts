/** Start-up checks against the real file system and real sockets. */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { checkBindable, checkDataDir, checkTcpReachable } from "../../../src/cli/preflight.ts"
import { runLattice } from "./capture.ts"

const servers: Server[] = []
afterAll(() => {
  for (const s of servers) s.close()
})

/** A real listening socket on a free loopback port. */
const listening = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer((socket) => socket.end())
    servers.push(server)
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve((server.address() as { port: number }).port))
  })

/** A loopback port with nothing listening (bound, then released). */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

describe("preflight", () => {
  test("a writable or creatable data dir passes; one under a file does not", () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-preflight-"))
    expect(checkDataDir(dir)).toBeUndefined()
    expect(checkDataDir(join(dir, "a/b/c"))).toBeUndefined()
    const file = join(dir, "file")
    writeFileSync(file, "")
    expect(checkDataDir(join(file, "data"))).toBe(
      `node.data_dir: cannot create ${file}/data: ${file} is not a directory; choose another with --data-dir`,
    )
  })

  test("a creatable data dir is created and left empty (the probe file is removed)", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "lattice-preflight-")), "x/y")
    expect(checkDataDir(dir)).toBeUndefined()
    expect(readdirSync(dir)).toEqual([])
  })

  test.skipIf(!existsSync("/proc/self"))(
    "a data dir where nothing can be written (even as root: /proc) is one line saying what to do",
    () => {
      const problem = checkDataDir("/proc/lattice-preflight-test/data")
      expect(problem).toStartWith("node.data_dir: cannot create /proc/lattice-preflight-test/data: ")
      expect(problem).toEndWith("choose another with --data-dir")
      expect(problem).not.toContain("\n")
    },
  )

  test("an address in use is reported as EADDRINUSE; a free one passes", async () => {
    const port = await listening()
    expect(await checkBindable(`127.0.0.1:${port}`)).toBe("EADDRINUSE")
    expect(await checkBindable("127.0.0.1:0")).toBeUndefined()
  })

  test("a TCP endpoint answers or is refused", async () => {
    expect(await checkTcpReachable(`nats://127.0.0.1:${await listening()}`, 1000)).toBeUndefined()
    expect(await checkTcpReachable(`nats://127.0.0.1:${await closedPort()}`, 1000)).toBe("ECONNREFUSED")
  })

  test("start refuses a listener already in use, in one line that says what to do", async () => {
    const port = await listening()
    const dataDir = mkdtempSync(join(tmpdir(), "lattice-preflight-"))
    const result = await runLattice([
      "start",
      "--data-dir",
      dataDir,
      "--listen-etcd",
      "127.0.0.1:0",
      "--listen-http",
      `127.0.0.1:${port}`,
      "--listen-metrics",
      "127.0.0.1:0",
      "--nats",
      `nats://127.0.0.1:${await listening()}`,
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      `error: listeners.http: 127.0.0.1:${port} is already in use (another lattice or etcd?); stop that process or choose another with --listen-http\n`,
    )
  })
})
