/**
 * `lattice start` (from the sources) serves the NATS KV service next to the etcd listeners:
 * a single-node cluster over a real nats-server, asked by a plain NATS client.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import type { Subprocess } from "bun"
import { kvSubject } from "../../../src/adapters/nats/subjects.ts"
import { freePort, type NatsServer, startNatsServer } from "../../support/nats-server.ts"

const ROOT = join(import.meta.dir, "../../..")
const CLUSTER = "wired"
const b64 = (s: string) => Buffer.from(s).toString("base64")

let nats: NatsServer
let dir: string
let proc: Subprocess
let client: NatsConnection

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field
const ask = async (op: "put" | "range" | "status", req: unknown): Promise<any> =>
  JSON.parse((await client.request(kvSubject(CLUSTER, op), JSON.stringify(req), { timeout: 5000 })).string())

beforeAll(async () => {
  nats = await startNatsServer()
  dir = mkdtempSync(join(tmpdir(), "lattice-nats-kv-"))
  proc = Bun.spawn(
    [
      process.execPath,
      "src/cli/main.ts",
      "start",
      "--node-id",
      "n1",
      "--members",
      "n1",
      "--data-dir",
      join(dir, "n1"),
      "--nats",
      nats.url,
      "--listen-etcd",
      `127.0.0.1:${await freePort()}`,
      "--listen-http",
      `127.0.0.1:${await freePort()}`,
      "--set",
      `cluster.name=${CLUSTER}`,
      "--set",
      "consensus.tick_ms=20",
      "--set",
      "telemetry.metrics_enabled=false",
    ],
    {
      cwd: ROOT,
      stdin: "ignore",
      stdout: Bun.file(join(dir, "n1.log")),
      stderr: Bun.file(join(dir, "n1.err")),
    },
  )
  client = await connect({ servers: [nats.url] })
}, 30_000)

afterAll(async () => {
  await client?.close()
  proc?.kill("SIGTERM")
  await proc?.exited
  await nats?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test("a started node answers put, range and status on lattice.<cluster>.kv.*", async () => {
  // Polls until the node is up and has elected itself (no responders / no leader until then).
  let status: { leader?: string; error?: unknown } = {}
  for (let i = 0; i < 100 && (status.leader === undefined || status.leader === "0"); i++) {
    try {
      status = await ask("status", {})
    } catch {
      await Bun.sleep(100)
    }
    if (status.leader === undefined || status.leader === "0") await Bun.sleep(100)
  }
  expect(status.leader).not.toBe("0")
  const put = await ask("put", { key: b64("hello"), value: b64("world") })
  expect(put.error).toBeUndefined()
  const range = await ask("range", { key: b64("hello") })
  expect(range.kvs[0].value).toBe(b64("world"))
  expect(range.header.revision).toBe(put.header.revision)
}, 30_000)
