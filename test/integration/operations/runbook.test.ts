/**
 * docs/operations.md walked through against three real `lattice start` processes (the compiled
 * binary) over a real nats-server: every bash block marked `<!-- runbook: … -->` runs, in the
 * document's order, with `bash -eo pipefail` and the documented variables (LATTICE_ENDPOINTS,
 * NODE_URL, DATA_DIR, …) pointing at this cluster, and must exit as promised and print what its
 * comment expects. A documented command that stops working fails here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Subprocess } from "bun"
import { freePort } from "../../support/nats-server.ts"
import { collectOutput } from "../../support/process-output.ts"
import { hasNats, processCluster } from "../node/process-cluster.ts"
import { parseRunbook, type RunbookBlock } from "./runbook.ts"

const ROOT = join(import.meta.dir, "../../..")
const DOC = join(ROOT, "docs/operations.md")
const IDS = ["n1", "n2", "n3"]
const hasEtcdctl = Bun.which("etcdctl") !== null
const runbook = parseRunbook(readFileSync(DOC, "utf8"))
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/** Long blocks: a node added and caught up, a drain, three nodes restarted one by one. */
const TIMEOUTS: Readonly<Record<string, number>> = {
  "add-node": 180_000,
  drain: 120_000,
  "rolling-restart": 420_000,
}

test("every bash block of docs/operations.md is marked for the runbook test", () => {
  expect(runbook.unmarked).toEqual([])
  expect(runbook.blocks.length).toBeGreaterThanOrEqual(15)
  expect(new Set(runbook.blocks.map((b) => b.id)).size).toBe(runbook.blocks.length)
})

describe.skipIf(!hasNats || !hasEtcdctl)("docs/operations.md on 3 lattice processes", () => {
  const c = processCluster(IDS, [
    // The default tick (elections after 0.5-1 s), not the helper's 20 ms: a snapshot on a busy
    // machine must not cause an election in the middle of the walk-through.
    "--set",
    "consensus.tick_ms=50",
    "--set",
    "admin.shutdown_grace_period_seconds=5",
    "--set",
    "admin.drain_timeout_seconds=10",
  ])
  let env: Record<string, string> = {}
  /** The new node's settings (on its own server they would be the defaults). */
  let newNodeEnv: Record<string, string> = {}
  const background: Subprocess[] = []
  // Nodes the rolling restart starts are not children of this process: each start appends its
  // pid here, in a directory of this test's own (the cluster helper removes its directory first).
  const pidDir = mkdtempSync(join(tmpdir(), "lattice-runbook-"))
  const pidList = join(pidDir, "started.pids")

  beforeAll(async () => {
    const work = c.workDir()
    await c.leaderOf(IDS)
    const b64 = (s: string) => Buffer.from(s).toString("base64")
    for (let i = 0; i < 20; i++)
      await c.call(IDS[i % 3]!, "/v3/kv/put", { key: b64(`k${i}`), value: b64("v") })
    // `lattice` on PATH, as installed.
    const bin = join(work, "bin")
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, "lattice"), `#!/bin/sh\nexec ${c.cliCommand().map(quote).join(" ")} "$@"\n`, {
      mode: 0o755,
    })
    // deploy/rolling-restart.sh's START_CMD: the harness's own command line, detached, its pid recorded.
    for (const id of IDS)
      writeFileSync(
        join(work, `start-${id}.sh`),
        `#!/usr/bin/env bash\ncd ${quote(ROOT)}\nnohup ${c.argv(id).map(quote).join(" ")} >> ${quote(join(work, `${id}.log`))} 2>&1 < /dev/null &\necho $! >> ${quote(pidList)}\n`,
        { mode: 0o755 },
      )
    const argv = c.argv("n1")
    const newHttp = await freePort()
    env = {
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      HOME: process.env.HOME ?? work,
      LATTICE_ENDPOINTS: IDS.map((id) => c.httpEndpoint(id)).join(","),
      NODE_URL: c.httpEndpoint("n1"),
      ETCD_ENDPOINT: c.etcdEndpoint("n1"),
      NATS_URL: argv[argv.indexOf("--nats") + 1]!,
      DATA_DIR: work,
      CONFIG_DIR: join(work, "etc"),
      BACKUP_DIR: join(work, "backups"),
      NEW_ENDPOINT: `http://127.0.0.1:${newHttp}`,
      // deploy/rolling-restart.sh's documented settings: how this harness stops and starts a node.
      STOP_CMD: "lattice admin shutdown --graceful --node-id {node} --timeout 30s",
      START_CMD: `${quote(work)}/start-{node}.sh`,
      // The script's bound is 1 s; the test shares two cores with other suites.
      MAX_LAG_SECONDS: "5",
    }
    newNodeEnv = {
      LATTICE_LISTENERS__HTTP: `127.0.0.1:${newHttp}`,
      LATTICE_LISTENERS__ETCD: `127.0.0.1:${await freePort()}`,
      LATTICE_TELEMETRY__METRICS_ENABLED: "false",
    }
  }, 60_000)

  afterAll(async () => {
    // Nodes started by blocks are not children of the cluster helper: stop them by their pids.
    const pids = existsSync(pidList) ? readFileSync(pidList, "utf8").split("\n").filter(Boolean) : []
    for (const proc of background) {
      const children = `/proc/${proc.pid}/task/${proc.pid}/children`
      if (existsSync(children)) pids.push(...readFileSync(children, "utf8").split(" ").filter(Boolean))
      proc.kill("SIGKILL")
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL")
      } catch {
        // already gone
      }
    }
    rmSync(pidDir, { recursive: true, force: true })
  })

  const run = async (b: RunbookBlock) => {
    const proc = Bun.spawn(["bash", "-eo", "pipefail", "-c", b.script], {
      cwd: ROOT,
      env,
      stdout: "pipe",
      stderr: "pipe",
    })
    const { code, out, err } = await collectOutput(proc)
    return { code, output: `${out}${err}` }
  }

  for (const b of runbook.blocks) {
    const name = `${b.id} (docs/operations.md:${b.line})`
    if (b.skip !== null) {
      test.skip(`${name}: ${b.skip}`, () => {})
      continue
    }
    if (b.background) {
      test(`${name}: started in the background`, async () => {
        const proc = Bun.spawn(["bash", "-eo", "pipefail", "-c", b.script], {
          cwd: ROOT,
          env: { ...env, ...newNodeEnv },
          stdin: "ignore",
          stdout: Bun.file(join(c.workDir(), `${b.id}.log`)),
          stderr: Bun.file(join(c.workDir(), `${b.id}.err`)),
        })
        background.push(proc)
        // It must still run a moment later (a bad flag or config would have ended it).
        await Bun.sleep(1000)
        expect({ block: b.id, exited: proc.exitCode }).toEqual({ block: b.id, exited: null })
      })
      continue
    }
    test(
      name,
      async () => {
        const { code, output } = await run(b)
        if (code !== b.exit) {
          console.log(`--- ${b.id} output ---\n${output}`)
          for (const started of runbook.blocks.filter((x) => x.background)) {
            const log = join(c.workDir(), `${started.id}.err`)
            if (existsSync(log))
              console.log(`--- ${started.id} stderr ---\n${readFileSync(log, "utf8").slice(-3000)}`)
          }
        }
        expect({ block: b.id, exit: code }).toEqual({ block: b.id, exit: b.exit })
        for (const re of b.expect) expect(output).toMatch(re)
      },
      TIMEOUTS[b.id] ?? 60_000,
    )
  }
})
