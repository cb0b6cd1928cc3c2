/** `lattice status` against a running 3-node in-process cluster's HTTP listeners. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { statusCommand } from "../../../src/cli/commands/status.ts"
import type { CliIO, ParsedInput } from "../../../src/cli/framework/types.ts"
import { makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

const runStatus = async (flags: Record<string, string | boolean>) => {
  let out = ""
  const io: CliIO = { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {}, cwd: process.cwd() }
  const input: ParsedInput = {
    args: [],
    string: (n) => (typeof flags[n] === "string" ? (flags[n] as string) : undefined),
    bool: (n) => flags[n] === true,
    list: () => [],
  }
  const code = await Effect.runPromise(statusCommand.run!(input, io))
  return { code, out }
}

describe("lattice status", () => {
  let tc: TestCluster
  const endpoints = () =>
    tc.cluster
      .nodes()
      .map((r) => `127.0.0.1:${r.listeners!.httpPort}`)
      .join(",")

  beforeAll(async () => {
    tc = makeTestCluster(
      3,
      (o) => o,
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    await tc.cluster.startAll()
    const leader = await tc.cluster.awaitLeader()
    await put(tc.cluster, leader, "a", "1")
  })
  afterAll(async () => {
    await tc.cleanup()
  })

  test("prints one Healthy row per node with exactly one leader", async () => {
    const { code, out } = await runStatus({ endpoints: endpoints(), verbose: true })
    expect(code).toBe(0)
    const rows = out.split("\n").filter((l) => l.includes("Healthy"))
    expect(rows.length).toBe(3)
    expect(rows.filter((l) => / leader /.test(l)).length).toBe(1)
    expect(out).toContain("follower lag")
  }, 30_000)

  test("--format json, and an unreachable endpoint makes it fail", async () => {
    const { code, out } = await runStatus({ endpoints: `${endpoints()},127.0.0.1:1`, format: "json" })
    expect(code).toBe(69)
    const parsed = JSON.parse(out) as { health: string; status: { node: string } | null }[]
    expect(parsed.map((p) => p.health)).toEqual(["Healthy", "Healthy", "Healthy", "Unreachable"])
    expect(
      parsed
        .slice(0, 3)
        .map((p) => p.status!.node)
        .sort(),
    ).toEqual(["n1", "n2", "n3"])
  }, 30_000)
})
