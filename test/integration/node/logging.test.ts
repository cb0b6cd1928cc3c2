/**
 * Logs of an in-process 3-node cluster: JSON lines carry node, group and term on Raft events,
 * and a write's request id shows on the follower that forwards it and on the leader that
 * proposes it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { loggingLayer } from "../../../src/log/logger.ts"
import { LocalCluster } from "../../../src/node/local-cluster.ts"
import { putCommand, testNodeOptions } from "./cluster-support.ts"

const lines: Record<string, unknown>[] = []
let cluster: LocalCluster
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lattice-log-"))
  const ids = ["n1", "n2", "n3"]
  cluster = new LocalCluster(
    ids.map((id) => ({ options: testNodeOptions(id, ids, dir) })),
    1,
    loggingLayer({ level: "debug", format: "json", write: (l) => lines.push(JSON.parse(l)) }),
  )
  await cluster.startAll()
  await cluster.awaitLeader(20_000)
}, 30_000)

afterAll(async () => {
  await cluster.stopAll()
  rmSync(dir, { recursive: true, force: true })
})

describe("structured logs", () => {
  test("leader elections are logged with node, group, term and role", () => {
    const leader = cluster.leader()!
    const seen = lines.filter((l) => l.msg === `leader is ${leader}`)
    expect(new Set(seen.map((l) => l.node))).toEqual(new Set(["n1", "n2", "n3"]))
    for (const l of seen) {
      expect(l.group).toBe(1)
      expect(typeof l.term).toBe("number")
      expect(l.level).toBe("info")
    }
  })

  test("a request id follows a write from the follower to the leader", async () => {
    const leader = cluster.leader()!
    const follower = cluster.ids.find((id) => id !== leader)!
    const node = cluster.get(follower)!.node
    await Effect.runPromise(node.write(putCommand("traced", "v"), undefined, "req-42"))
    await Bun.sleep(50)
    const traced = lines.filter((l) => l.request_id === "req-42")
    expect(traced).toContainEqual(
      expect.objectContaining({ node: follower, group: 1, msg: `forwarding write to the leader ${leader}` }),
    )
    expect(traced).toContainEqual(
      expect.objectContaining({ node: leader, group: 1, from: follower, msg: "forwarded write: proposing" }),
    )
    const onLeader = traced.find((l) => l.node === leader)!
    expect(onLeader.term).toBe(cluster.get(leader)!.node.group()!.view.status.term)
  })
})
