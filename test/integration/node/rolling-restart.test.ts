/**
 * deploy/rolling-restart.sh over real `lattice start` processes (the compiled binary) and a real
 * nats-server, while SDK clients (src/sdk, its default retry policy, all nodes' gRPC endpoints)
 * run puts and linearizable gets. Each node is drained, stopped with `lattice admin shutdown
 * --graceful`, started again by a shell command, and must be ready and a voter before the next.
 * Asserted: the script succeeds; zero client operations failed; every acknowledged write is
 * readable afterwards; the recorded history is linearizable (test/support/linearizability-kv.ts).
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { collectOutput } from "../../support/process-output.ts"
import { hasNats, processCluster } from "./process-cluster.ts"
import { expectNoLostWrites, startLoad } from "./sdk-load.ts"

const ROOT = join(import.meta.dir, "../../..")
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

const rollingRestart = (ids: readonly string[]) => {
  const c = processCluster(ids, [
    "--set",
    "admin.shutdown_grace_period_seconds=5",
    "--set",
    "admin.drain_timeout_seconds=10",
  ])
  // Nodes the script starts are not children of this process: each start appends its pid to a
  // file in a directory of this test's own (the cluster helper removes its directory on its own
  // schedule), and they are killed after the tests, even after a timeout.
  const pidDir = mkdtempSync(join(tmpdir(), "lattice-rolling-"))
  const pidList = join(pidDir, "pids")
  afterAll(() => {
    const pids = existsSync(pidList)
      ? readFileSync(pidList, "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : []
    for (const pid of pids) {
      try {
        process.kill(Number(pid), "SIGKILL")
      } catch {
        // already gone
      }
    }
    rmSync(pidDir, { recursive: true, force: true })
  })

  return async () => {
    await c.leaderOf(ids)
    const endpoints = ids.map((id) => c.httpEndpoint(id)).join(",")
    // START_CMD: the same command line the test harness uses, detached, its pid recorded.
    for (const id of ids) {
      const script = join(c.workDir(), `start-${id}.sh`)
      writeFileSync(
        script,
        `#!/usr/bin/env bash\ncd ${quote(ROOT)}\nnohup ${c.argv(id).map(quote).join(" ")} >> ${quote(join(c.workDir(), `${id}.log`))} 2>&1 < /dev/null &\necho $! >> ${quote(pidList)}\n`,
        { mode: 0o755 },
      )
    }
    const load = startLoad(
      ids.map((id) => c.etcdEndpoint(id)),
      4,
    )
    await Bun.sleep(1000)
    // LATTICE is split on spaces by the script (it may be "bun src/cli/main.ts"); commands are run by bash -c.
    const lattice = c.cliCommand().join(" ")
    const run = Bun.spawn(["bash", join(ROOT, "deploy/rolling-restart.sh"), ...ids], {
      cwd: ROOT,
      env: {
        ...process.env,
        ENDPOINTS: endpoints,
        LATTICE: lattice,
        STOP_CMD: `${c.cliCommand().map(quote).join(" ")} admin shutdown --graceful --node-id {node} --endpoints ${endpoints} --timeout 30s`,
        START_CMD: `${quote(c.workDir())}/start-{node}.sh`,
        // The script's default bound is 1 s; tests share 2 cores with other suites, so allow more.
        MAX_LAG_SECONDS: "5",
        HEALTH_TIMEOUT: "120",
        READY_TIMEOUT: "120",
      },
      stdout: "pipe",
      stderr: "pipe",
    })
    const { code, out, err } = await collectOutput(run)
    await Bun.sleep(500)
    await load.stop()
    if (code !== 0 || process.env.ROLLING_VERBOSE) console.log(out, err)
    expect(code).toBe(0)
    for (const id of ids) expect(out).toContain(`node ${id} restarted successfully`)
    expect(out).toContain("rolling restart complete")
    // Zero failed client operations, through a restart of every node.
    expect(load.failures).toEqual([])
    expect(load.history.length).toBeGreaterThan(50)
    await expectNoLostWrites(
      load,
      ids.map((id) => c.etcdEndpoint(id)),
    )
    console.log(
      `rolling restart of ${ids.length} nodes: ${load.history.length} operations, ${load.acked.size} acknowledged unique writes, 0 failed`,
    )
  }
}

describe.skipIf(!hasNats)("rolling restart of real processes under client load", () => {
  describe("3 nodes", () => {
    const go = rollingRestart(["n1", "n2", "n3"])
    // About 2 min on an idle 2-core machine; far more when other suites share it.
    test("every node drained, restarted and back; zero failed operations; linearizable", go, 600_000)
  })
  describe("5 nodes", () => {
    const go = rollingRestart(["n1", "n2", "n3", "n4", "n5"])
    test("every node drained, restarted and back; zero failed operations; linearizable", go, 900_000)
  })
})
