/**
 * `lattice dev` as a user runs it: a spawned process, real etcdctl put/get against its three
 * nodes, then Ctrl-C (SIGINT) and a clean exit. Uses the dev ports (2379/2479/2579); skipped
 * when they are taken.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { etcdctl } from "../etcdctl/harness.ts"

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer()
    srv.once("error", () => resolve(false))
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)))
  })

const PORTS = [2379, 2378, 2479, 2478, 2579, 2578]
const free = (await Promise.all(PORTS.map(portFree))).every(Boolean)
const hasEtcdctl = existsSync("/usr/bin/etcdctl") || process.env.ETCDCTL_BIN !== undefined

describe.skipIf(!free || !hasEtcdctl)("lattice dev", () => {
  test("serves etcdctl put/get on all three nodes and stops cleanly on SIGINT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-dev-"))
    const proc = Bun.spawn([process.execPath, "src/cli/main.ts", "dev", "--data-dir", dir], {
      stdout: "pipe",
      stderr: "pipe",
    })
    try {
      const endpoints = "127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579"
      let put = await etcdctl(endpoints, ["put", "greeting", "hello"])
      for (let i = 0; i < 50 && put.code !== 0; i++) {
        await Bun.sleep(100)
        put = await etcdctl(endpoints, ["put", "greeting", "hello"])
      }
      expect(put.out).toBe("OK\n")
      for (const ep of endpoints.split(",")) {
        expect((await etcdctl(ep, ["get", "greeting"])).out).toBe("greeting\nhello\n")
      }
      proc.kill("SIGINT")
      expect(await proc.exited).toBe(0)
      const out = await new Response(proc.stdout).text()
      expect(out).toContain("etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579")
      expect(out).toContain("lattice benchmark 10 --endpoints 127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579")
      expect(out).toContain("lattice dev: stopped")
    } finally {
      proc.kill("SIGKILL")
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
