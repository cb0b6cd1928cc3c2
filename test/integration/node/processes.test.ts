/**
 * Real processes: a nats-server on loopback and three `lattice start` processes. A client writes
 * continuously; the leader's process is SIGKILLed; a new leader takes over; the killed node is
 * restarted; every acknowledged write is then readable (linearizably) through every node.
 * Set LATTICE_BIN (for example dist/lattice after `npm run build`) to test the compiled binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Subprocess } from "bun"
import type { NodeStatusReport } from "../../../src/node/status-report.ts"
import { freePort, type NatsServer, startNatsServer } from "../../support/nats-server.ts"

/** LATTICE_BIN=dist/lattice runs the compiled binary instead of the sources. */
const COMMAND = process.env.LATTICE_BIN ? [process.env.LATTICE_BIN] : [process.execPath, "src/cli/main.ts"]
const hasNats = existsSync("/usr/bin/nats-server") || Bun.which("nats-server") !== null
const IDS = ["n1", "n2", "n3"] as const

interface Proc {
  proc: Subprocess<"ignore", "pipe", "pipe">
  etcd: number
  http: number
}

interface RangeJson {
  readonly kvs?: readonly { readonly key: string; readonly value: string }[]
}

const b64 = (s: string) => Buffer.from(s).toString("base64")

describe.skipIf(!hasNats)("3 lattice processes over a real nats-server", () => {
  let nats: NatsServer
  let dir: string
  const procs = new Map<string, Proc>()
  const ports = new Map<string, { etcd: number; http: number }>()

  const spawn = (id: string) => {
    const p = ports.get(id)!
    const proc = Bun.spawn(
      [
        ...COMMAND,
        "start",
        "--node-id",
        id,
        "--members",
        IDS.join(","),
        "--data-dir",
        join(dir, id),
        "--nats",
        nats.url,
        "--listen-etcd",
        `127.0.0.1:${p.etcd}`,
        "--listen-http",
        `127.0.0.1:${p.http}`,
        "--set",
        "consensus.tick_ms=20",
        "--set",
        "telemetry.metrics_enabled=false",
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    )
    procs.set(id, { proc, ...p })
  }

  const call = async (
    id: string,
    path: string,
    body: unknown,
  ): Promise<{ status: number; json: RangeJson }> => {
    const p = ports.get(id)!
    const res = await fetch(`http://127.0.0.1:${p.http}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(8000),
    })
    return { status: res.status, json: (await res.json()) as RangeJson }
  }

  const status = async (id: string): Promise<NodeStatusReport> => {
    const p = ports.get(id)!
    const res = await fetch(`http://127.0.0.1:${p.http}/v1/status`, { signal: AbortSignal.timeout(2000) })
    return (await res.json()) as NodeStatusReport
  }

  const leaderOf = async (ids: readonly string[]): Promise<string> => {
    for (let i = 0; i < 300; i++) {
      const seen = new Set<string | null>()
      for (const id of ids) {
        try {
          seen.add((await status(id)).groups[0]?.leader ?? null)
        } catch {
          seen.add(null)
        }
      }
      const [only] = [...seen]
      if (seen.size === 1 && only !== null && only !== undefined && ids.includes(only)) return only
      await Bun.sleep(50)
    }
    throw new Error("no agreed leader")
  }

  beforeAll(async () => {
    nats = await startNatsServer()
    dir = mkdtempSync(join(tmpdir(), "lattice-procs-"))
    for (const id of IDS) ports.set(id, { etcd: await freePort(), http: await freePort() })
    for (const id of IDS) spawn(id)
  })
  afterAll(async () => {
    for (const p of procs.values()) p.proc.kill("SIGKILL")
    await Promise.all([...procs.values()].map((p) => p.proc.exited))
    await nats.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test("SIGKILL of the leader under writes: a new leader, no acknowledged write lost, the node catches up", async () => {
    const leader = await leaderOf(IDS)
    const acked = new Map<string, string>()
    let n = 0
    let stop = false
    const writer = (async () => {
      while (!stop) {
        const key = `k${n}`
        const value = `v${n++}`
        const via = IDS[n % IDS.length]!
        try {
          const r = await call(via, "/v3/kv/put", { key: b64(key), value: b64(value) })
          if (r.status === 200) acked.set(key, value)
        } catch {
          // the node we asked may be the one that died: unknown outcome, not acknowledged
        }
      }
    })()
    while (acked.size < 20) await Bun.sleep(10)
    procs.get(leader)!.proc.kill("SIGKILL")
    await procs.get(leader)!.proc.exited
    const survivors = IDS.filter((id) => id !== leader)
    const next = await leaderOf(survivors)
    expect(next).not.toBe(leader)
    const before = acked.size
    while (acked.size < before + 20) await Bun.sleep(10)
    spawn(leader)
    await leaderOf(IDS)
    stop = true
    await writer
    for (const id of IDS) {
      const r = await call(id, "/v3/kv/range", { key: b64("k"), range_end: b64("l") })
      expect(r.status).toBe(200)
      const got = new Map<string, string>(
        (r.json.kvs ?? []).map((kv) => [
          Buffer.from(kv.key, "base64").toString(),
          Buffer.from(kv.value, "base64").toString(),
        ]),
      )
      for (const [k, v] of acked) expect(got.get(k)).toBe(v)
    }
  }, 90_000)
})
