/**
 * Helpers for running the real etcdctl (ETCDCTL_API=3) against Lattice's etcd gRPC server and,
 * side by side, against a real etcd started on free loopback ports in a temp dir.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { EtcdBackend } from "../../../src/adapters/etcd/backend.ts"
import { startEtcdGrpcServer } from "../../../src/adapters/etcd/grpc-server.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { collectOutput } from "../../support/process-output.ts"

export const ETCDCTL = process.env.ETCDCTL_BIN ?? "/usr/bin/etcdctl"
export const ETCD = process.env.ETCD_BIN ?? "/usr/bin/etcd"

export interface CtlResult {
  readonly code: number
  readonly out: string
  readonly err: string
}

export const etcdctl = async (
  endpoint: string,
  args: readonly string[],
  stdin?: string,
): Promise<CtlResult> => {
  const proc = Bun.spawn(
    [ETCDCTL, `--endpoints=${endpoint}`, "--dial-timeout=3s", "--command-timeout=10s", ...args],
    {
      env: { ...process.env, ETCDCTL_API: "3" },
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    },
  )
  const { code, out, err } = await collectOutput(proc)
  return { code, out, err }
}

/** A long-running etcdctl (e.g. `watch`): read its stdout until a condition, then stop it. */
export const spawnEtcdctl = (endpoint: string, args: readonly string[]) => {
  const proc = Bun.spawn([ETCDCTL, `--endpoints=${endpoint}`, "--dial-timeout=3s", ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    stdout: "pipe",
    stderr: "ignore",
  })
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let out = ""
  return {
    /** Resolves with everything printed so far once `done(out)` holds; rejects if etcdctl exits first. */
    async readUntil(done: (out: string) => boolean): Promise<string> {
      while (!done(out)) {
        const { value, done: eof } = await reader.read()
        if (eof) throw new Error(`etcdctl exited; output so far:\n${out}`)
        out += decoder.decode(value)
      }
      return out
    },
    async stop(): Promise<void> {
      proc.kill()
      await proc.exited
    },
  }
}

export interface Endpoint {
  readonly endpoint: string
  close(): Promise<void>
}

export const startLattice = async (backend: EtcdBackend): Promise<Endpoint> => {
  const server = await startEtcdGrpcServer({ service: new EtcdService(backend), address: "127.0.0.1:0" })
  return {
    endpoint: `127.0.0.1:${server.port}`,
    close: async () => server.forceShutdown(),
  }
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })

/** A single-member etcd 3.4 on free loopback ports; resolves once it answers. */
export const startRealEtcd = async (
  name = "real",
): Promise<Endpoint & { clientURL: string; peerURL: string }> => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-real-"))
  const clientURL = `http://127.0.0.1:${await freePort()}`
  const peerURL = `http://127.0.0.1:${await freePort()}`
  const proc = Bun.spawn(
    [
      ETCD,
      `--name=${name}`,
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=${clientURL}`,
      `--advertise-client-urls=${clientURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=${name}=${peerURL}`,
    ],
    { stdout: "ignore", stderr: "ignore" },
  )
  const endpoint = clientURL.replace("http://", "")
  const close = async () => {
    proc.kill(9)
    await proc.exited
    rmSync(dir, { recursive: true, force: true })
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const r = await etcdctl(endpoint, ["endpoint", "health"])
    if (r.code === 0) return { endpoint, clientURL, peerURL, close }
    if (proc.exitCode !== null) break
    await Bun.sleep(100)
  }
  await close()
  throw new Error("etcd did not become healthy")
}
