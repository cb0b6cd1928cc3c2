/**
 * The real etcdctl 3.4 `watch` against a 3-node Lattice cluster in this process: every member,
 * follower or leader, serves watches from its own applied state — history from --rev with
 * --prev-kv, then live events written through another member; a compacted start revision.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { etcdctl, spawnEtcdctl } from "../etcdctl/harness.ts"
import { makeTestCluster, type TestCluster } from "./cluster-support.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl") || process.env.ETCDCTL_BIN !== undefined

describe.skipIf(!hasEtcdctl)("etcdctl watch against a 3-node Lattice cluster", () => {
  let tc: TestCluster
  const endpoint = (id: string) => `127.0.0.1:${tc.cluster.get(id)!.listeners!.etcdPort}`
  const ctl = (id: string, args: string[]) => etcdctl(endpoint(id), args)

  beforeAll(async () => {
    tc = makeTestCluster(
      3,
      (o) => o,
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    await tc.cluster.startAll()
    await tc.cluster.awaitLeader()
  }, 30_000)
  afterAll(async () => {
    await tc.cleanup()
  })

  test("every member replays history from --rev with --prev-kv, then streams live writes", async () => {
    const leader = tc.cluster.leader()!
    const [f1, f2] = tc.cluster.ids.filter((id) => id !== leader) as [string, string]
    expect((await ctl(leader, ["put", "w/a", "1"])).code).toBe(0)
    const from = JSON.parse((await ctl(leader, ["get", "w/a", "-w", "json"])).out).header.revision as number
    expect((await ctl(f1, ["put", "w/a", "2"])).code).toBe(0)
    const watches = tc.cluster.ids.map((id) =>
      spawnEtcdctl(endpoint(id), ["watch", "w/", "--prefix", `--rev=${from}`, "--prev-kv"]),
    )
    try {
      for (const w of watches) {
        expect(await w.readUntil((o) => o.split("\n").length > 8)).toBe("PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\n")
      }
      await ctl(f2, ["del", "w/a"])
      await ctl(leader, ["put", "other", "x"])
      await ctl(f1, ["put", "w/b", "3"])
      for (const w of watches) {
        expect(await w.readUntil((o) => o.includes("w/b\n3\n"))).toBe(
          "PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nDELETE\nw/a\n2\nw/a\n\nPUT\nw/b\n3\n",
        )
      }
    } finally {
      for (const w of watches) await w.stop()
    }
  }, 60_000)

  test("a single-key watch on a follower sees only its key; a compacted --rev is refused", async () => {
    const leader = tc.cluster.leader()!
    const follower = tc.cluster.ids.find((id) => id !== leader)!
    const watch = spawnEtcdctl(endpoint(follower), ["watch", "solo"])
    try {
      // The watch is registered once its stream is up; writes before that are not part of it.
      await Bun.sleep(300)
      await ctl(leader, ["put", "solo2", "no"])
      await ctl(leader, ["put", "solo", "yes"])
      expect(await watch.readUntil((o) => o.includes("yes"))).toBe("PUT\nsolo\nyes\n")
    } finally {
      await watch.stop()
    }
    const rev = JSON.parse((await ctl(leader, ["get", "solo", "-w", "json"])).out).header.revision as number
    expect((await ctl(leader, ["compaction", String(rev)])).code).toBe(0)
    const compacted = await ctl(follower, ["watch", "solo", `--rev=${rev - 1}`])
    expect(`${compacted.out}${compacted.err}`).toContain("compacted")
  }, 60_000)
})
