/** Starts a throwaway single-node etcd 3.4 on free loopback ports, for side-by-side tests. */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const ETCD_BINARY = process.env.ETCD_BINARY ?? "/usr/bin/etcd"
export const etcdAvailable = (): boolean => existsSync(ETCD_BINARY)

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })

export interface EtcdProcess {
  readonly url: string
  stop(): Promise<void>
}

export const startEtcd = async (): Promise<EtcdProcess> => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-etcd-"))
  const client = await freePort()
  const peer = await freePort()
  const url = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  const proc = Bun.spawn(
    [
      ETCD_BINARY,
      "--name=side",
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=side=${peerUrl}`,
      "--log-level=error",
      "--logger=zap",
    ],
    { stdout: "ignore", stderr: "ignore" },
  )
  const stop = async (): Promise<void> => {
    proc.kill("SIGKILL")
    await proc.exited
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`${url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "AA==" }) })
      if (res.ok) return { url, stop }
    } catch {
      // not listening yet
    }
    await Bun.sleep(50)
  }
  await stop()
  throw new Error("etcd did not become ready")
}
