/**
 * The real etcdctl 3.4 (ETCDCTL_API=3) against a 3-node Lattice cluster running in this process
 * (in-memory transport, real SQLite files, real gRPC listeners on free loopback ports).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { memberIdOf } from "../../../src/node/ids.ts"
import { etcdctl } from "../etcdctl/harness.ts"
import { makeTestCluster, type TestCluster } from "./cluster-support.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl") || process.env.ETCDCTL_BIN !== undefined

describe.skipIf(!hasEtcdctl)("etcdctl against a 3-node Lattice cluster", () => {
  let tc: TestCluster
  const endpoint = (id: string) => `127.0.0.1:${tc.cluster.get(id)!.listeners!.etcdPort}`
  const all = () => tc.cluster.ids.map(endpoint).join(",")
  const ctl = (id: string, args: string[], stdin?: string) => etcdctl(endpoint(id), args, stdin)

  beforeAll(async () => {
    tc = makeTestCluster(
      3,
      (o) => o,
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    await tc.cluster.startAll()
    await tc.cluster.awaitLeader()
  })
  afterAll(async () => {
    await tc.cleanup()
  })

  test("put through every node, get with --prefix, --limit, --rev, --consistency=s, del", async () => {
    const [a, b, c] = tc.cluster.ids as [string, string, string]
    expect(await ctl(a, ["put", "foo", "bar"])).toMatchObject({ code: 0, out: "OK\n" })
    expect((await ctl(b, ["put", "foo", "baz", "--prev-kv"])).out).toBe("OK\nfoo\nbar\n")
    expect((await ctl(c, ["put", "fob", "1"])).code).toBe(0)
    for (const id of [a, b, c]) {
      expect((await ctl(id, ["get", "foo"])).out).toBe("foo\nbaz\n")
      expect((await ctl(id, ["get", "fo", "--prefix"])).out).toBe("fob\n1\nfoo\nbaz\n")
    }
    expect((await ctl(c, ["get", "fo", "--prefix", "--limit", "1"])).out).toBe("fob\n1\n")
    const rev = JSON.parse((await ctl(a, ["get", "foo", "-w", "json"])).out).kvs[0].create_revision as number
    expect((await ctl(b, ["get", "foo", "--rev", String(rev)])).out).toBe("foo\nbar\n")
    // A serializable read is local: it converges once the follower has applied.
    let seen = ""
    for (let i = 0; i < 50 && seen !== "fob\n1\n"; i++) {
      seen = (await ctl(c, ["get", "fob", "--consistency=s"])).out
      if (seen !== "fob\n1\n") await Bun.sleep(20)
    }
    expect(seen).toBe("fob\n1\n")
    expect((await ctl(b, ["del", "fob"])).out).toBe("1\n")
    expect((await ctl(a, ["get", "fob"])).out).toBe("")
  }, 60_000)

  test("txn and compaction", async () => {
    const [a, b] = tc.cluster.ids as [string, string]
    await ctl(a, ["put", "t", "1"])
    const txn = await ctl(b, ["txn"], 'value("t") = "1"\n\nput t 2\n\nput t 3\n\n')
    expect(txn.code).toBe(0)
    expect(txn.out).toBe("SUCCESS\n\nOK\n")
    expect((await ctl(a, ["get", "t"])).out).toBe("t\n2\n")
    const rev = JSON.parse((await ctl(a, ["get", "t", "-w", "json"])).out).header.revision as number
    const compacted = await ctl(b, ["compaction", String(rev), "--physical"])
    expect(compacted.out).toBe(`compacted revision ${rev}\n`)
    const old = await ctl(a, ["get", "t", "--rev", "1"])
    expect(old.code).not.toBe(0)
    expect(old.err).toContain("required revision has been compacted")
  }, 60_000)

  test("member list, endpoint status, endpoint health", async () => {
    const [a] = tc.cluster.ids as [string]
    const members = await ctl(a, ["member", "list", "-w", "json"])
    const ids = (JSON.parse(members.out).members as { ID: number; name: string }[]).map((m) => m.name).sort()
    expect(ids).toEqual(["n1", "n2", "n3"])
    const status = await etcdctl(all(), ["endpoint", "status", "-w", "json"])
    expect(status.code).toBe(0)
    const rows = JSON.parse(status.out) as { Status: { leader: number; header: { member_id: number } } }[]
    expect(rows.length).toBe(3)
    const leader = tc.cluster.leader()!
    // JSON numbers lose uint64 precision: compare as etcdctl's JSON encodes them.
    for (const r of rows) expect(r.Status.leader).toBe(Number(memberIdOf(leader)))
    const table = await etcdctl(all(), ["endpoint", "status"])
    expect(table.out).toContain(memberIdOf(leader).toString(16))
    expect(table.out.split("\n").filter((l) => l.includes(", true, false,")).length).toBe(1)
    const health = await etcdctl(all(), ["endpoint", "health"])
    expect(health.code).toBe(0)
    expect(`${health.out}${health.err}`.split("\n").filter((l) => l.includes("is healthy")).length).toBe(3)
  }, 60_000)

  test("move-leader transfers leadership", async () => {
    const leader = tc.cluster.leader()!
    const target = tc.cluster.ids.find((id) => id !== leader)!
    const hex = memberIdOf(target).toString(16)
    const moved = await ctl(leader, ["move-leader", hex])
    expect(moved.code).toBe(0)
    expect(moved.out).toContain("Leadership transferred")
    expect(await tc.cluster.awaitLeader()).toBe(target)
    expect((await ctl(leader, ["put", "after-move", "ok"])).code).toBe(0)
  }, 60_000)

  test("snapshot save writes the KV snapshot", async () => {
    const file = join(tc.dir, "snap.db")
    const saved = await ctl(tc.cluster.ids[0]!, ["snapshot", "save", file])
    expect(saved.code).toBe(0)
    expect(saved.out).toContain("Snapshot saved")
    expect(statSync(file).size).toBeGreaterThan(0)
    expect(readFileSync(file).length % 512).toBe(32)
  }, 60_000)
})
