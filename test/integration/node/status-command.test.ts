/**
 * `lattice status` against a running 3-node in-process cluster's HTTP listeners: the verdict,
 * the quorum line and one ✅/❌ line per node, and the seeds' scripts run as written against it
 * (the health check's `grep -q "Healthy"`, the rolling restart's `grep -q "Quorum"`), through a
 * `lattice` on PATH that runs the CLI from source.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { statusCommand } from "../../../src/cli/commands/status.ts"
import type { CliIO, ParsedInput } from "../../../src/cli/framework/types.ts"
import { collectOutput } from "../../support/process-output.ts"
import { makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

const ROOT = join(import.meta.dir, "../../..")

const runStatus = async (flags: Record<string, string | boolean>, args: string[] = []) => {
  let out = ""
  const io: CliIO = { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {}, cwd: process.cwd() }
  const input: ParsedInput = {
    args,
    string: (n) => (typeof flags[n] === "string" ? (flags[n] as string) : undefined),
    bool: (n) => flags[n] === true,
    list: () => [],
  }
  const code = await Effect.runPromise(statusCommand.run!(input, io))
  return { code, out }
}

// The seed's /usr/local/bin/lattice-health-check.sh (the webhook replaced by an echo).
const HEALTH_CHECK = `STATUS=$(lattice status 2>&1)
if echo "$STATUS" | grep -q "Healthy"; then
    echo "$(date) - Cluster healthy"
else
    echo "$(date) - ALERT: Cluster unhealthy"
fi`

// Step 3 of the seed's rolling-restart.sh.
const QUORUM_CHECK = `if ! lattice status | grep -q "Quorum"; then
    echo "ERROR: Lost quorum, aborting"
    exit 1
fi
echo "quorum maintained"`

describe("lattice status", () => {
  let tc: TestCluster
  let binDir: string
  let all: string
  const http = (id: string) => `http://127.0.0.1:${tc.cluster.get(id)!.listeners!.httpPort}`

  // Asynchronous: the cluster runs in this process and must keep answering meanwhile.
  const script = async (body: string) => {
    const p = Bun.spawn(["bash", "-c", body], {
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, LATTICE_ENDPOINTS: all },
      stdout: "pipe",
      stderr: "pipe",
    })
    const { code, out, err } = await collectOutput(p)
    return { code, out: out + err }
  }

  beforeAll(async () => {
    tc = makeTestCluster(
      3,
      (o) => o,
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    await tc.cluster.startAll()
    const leader = await tc.cluster.awaitLeader()
    await put(tc.cluster, leader, "a", "1")
    all = tc.cluster.ids.map(http).join(",")
    // Healthy also means ready: wait for every node's first readiness proof.
    for (const id of tc.cluster.ids) {
      const until = performance.now() + 10_000
      while ((await fetch(`${http(id)}/readyz`)).status !== 200 && performance.now() < until)
        await Bun.sleep(20)
    }
    binDir = mkdtempSync(join(tmpdir(), "lattice-bin-"))
    writeFileSync(
      join(binDir, "lattice"),
      `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, "src/cli/main.ts")} "$@"\n`,
    )
    chmodSync(join(binDir, "lattice"), 0o755)
  })
  afterAll(async () => {
    await tc.cleanup()
    rmSync(binDir, { recursive: true, force: true })
  })

  test("a healthy cluster: verdict, quorum and one ✅ line per node, exactly one leader", async () => {
    const { code, out } = await runStatus({ endpoints: all, verbose: true })
    expect(code).toBe(0)
    const lines = out.split("\n")
    expect(lines[0]).toMatch(/^Cluster: Healthy \(3\/3 nodes up, leader n\d, term \d+\)$/)
    expect(lines[1]).toBe("Quorum: ✅ 3/3 voters up, 2 needed")
    const nodeLines = lines.filter((l) => l.startsWith("Node "))
    expect(nodeLines.length).toBe(3)
    expect(nodeLines.every((l) => l.includes("✅"))).toBe(true)
    expect(nodeLines.filter((l) => l.includes("✅ Leader")).length).toBe(1)
    expect(nodeLines.filter((l) => / lag \d+\.\d s/.test(l)).length).toBe(2)
    expect(out).toContain("follower lag (s)")
  }, 30_000)

  test("one endpoint is enough: the other voters are judged by the leader", async () => {
    const leader = await tc.cluster.awaitLeader()
    const { code, out } = await runStatus({ endpoints: http(leader) })
    expect(code).toBe(0)
    expect(out.split("\n").filter((l) => l.startsWith("Node ") && l.includes("✅")).length).toBe(3)
    expect(out).toContain("hears from it")
    const follower = tc.cluster.ids.find((id) => id !== leader)!
    const one = await runStatus({ endpoints: all }, [follower])
    expect(one.code).toBe(0)
    expect(one.out).toContain(`Node ${follower}: ✅ Follower`)
    expect((await runStatus({ endpoints: all }, ["nope"])).code).toBe(69)
  }, 30_000)

  test("--format json carries the summary and every endpoint's report", async () => {
    const { code, out } = await runStatus({ endpoints: `${all},127.0.0.1:1`, format: "json" })
    expect(code).toBe(69)
    const parsed = JSON.parse(out) as {
      verdict: string
      quorum: boolean
      nodes: { node: string; up: boolean }[]
      endpoints: { status: { node: string } | null; error: string | null }[]
    }
    expect(parsed.verdict).toBe("Degraded")
    expect(parsed.quorum).toBe(true)
    expect(parsed.nodes.map((n) => n.node).sort()).toEqual(["n1", "n2", "n3"])
    expect(parsed.endpoints.filter((e) => e.status === null).length).toBe(1)
    expect((await runStatus({ endpoints: all, format: "yaml" })).code).toBe(2)
  }, 30_000)

  test("the seeds' scripts: healthy, then one node down (alert, quorum held), then two (no quorum)", async () => {
    let r = await script(HEALTH_CHECK)
    expect(r.out).toContain("- Cluster healthy")
    r = await script(QUORUM_CHECK)
    expect(r.code).toBe(0)
    expect(r.out).toContain("quorum maintained")

    const leader = await tc.cluster.awaitLeader()
    const [f1, f2] = tc.cluster.ids.filter((id) => id !== leader)
    await tc.cluster.stop(f1!)
    await Bun.sleep(300)
    r = await script(HEALTH_CHECK)
    expect(r.out).toContain("ALERT: Cluster unhealthy")
    r = await script(QUORUM_CHECK)
    expect(r.code).toBe(0)
    const degraded = await runStatus({ endpoints: all })
    expect(degraded.out).toContain("Cluster: Degraded (2/3 nodes up")
    expect(degraded.out).toContain(`Node ${f1}: ❌`)

    await tc.cluster.stop(f2!)
    await Bun.sleep(1000)
    r = await script(QUORUM_CHECK)
    expect(r.code).toBe(1)
    expect(r.out).toContain("ERROR: Lost quorum, aborting")
    const lost = await runStatus({ endpoints: all })
    expect(lost.out).toContain("Cluster: Unavailable")
    expect(lost.out).toContain("No quorum: ❌")
  }, 60_000)
})
