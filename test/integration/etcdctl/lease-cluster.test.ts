/**
 * etcdctl 3.4 `lease grant|keep-alive|revoke|timetolive|list` and `put --lease` against a 3-node
 * Lattice cluster in this process (in-memory transport, real SQLite files, real gRPC listeners):
 * leases granted anywhere, renewals forwarded to the leader, deterministic expiry deleting the
 * attached keys on every node, TTLs not reset by a leader change, LIN-BOUND without quorum.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { memberIdOf } from "../../../src/node/ids.ts"
import { LeaseClient } from "../../support/lease-client.ts"
import { makeTestCluster, type TestCluster } from "../node/cluster-support.ts"
import { etcdctl, spawnEtcdctl } from "./harness.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl") || process.env.ETCDCTL_BIN !== undefined

const grantedId = (out: string): string => {
  const id = /^lease ([0-9a-f]+) granted with TTL\((\d+)s\)\n$/.exec(out)?.[1]
  if (id === undefined) throw new Error(`unexpected grant output: ${out}`)
  return id
}

describe.skipIf(!hasEtcdctl)("etcdctl leases against a 3-node Lattice cluster", () => {
  let tc: TestCluster
  const endpoint = (id: string) => `127.0.0.1:${tc.cluster.get(id)!.listeners!.etcdPort}`
  const ctl = (id: string, args: string[]) => etcdctl(endpoint(id), args)
  const followers = () => tc.cluster.ids.filter((id) => id !== tc.cluster.leader())

  const remaining = async (node: string, id: string): Promise<number> => {
    const out = (await ctl(node, ["lease", "timetolive", id])).out
    const m = /remaining\((-?\d+)s\)/.exec(out)
    if (m === null) throw new Error(`unexpected timetolive output: ${out}`)
    return Number(m[1])
  }

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

  test("grant on a follower, attach on another node, time-to-live, list, keep-alive, revoke", async () => {
    const [f1, f2] = followers() as [string, string]
    const leader = tc.cluster.leader()!
    const id = grantedId((await ctl(f1, ["lease", "grant", "100"])).out)
    expect((await ctl(f2, ["put", "leased/a", "1", `--lease=${id}`])).out).toBe("OK\n")
    expect((await ctl(leader, ["put", "leased/b", "2", `--lease=${id}`])).out).toBe("OK\n")
    for (const node of tc.cluster.ids) {
      const ttl = (await ctl(node, ["lease", "timetolive", id, "--keys"])).out
      const m =
        /^lease (\w+) granted with TTL\(100s\), remaining\((\d+)s\), attached keys\(\[(.*)\]\)\n$/.exec(ttl)
      expect([m?.[1], m?.[3]]).toEqual([id, "leased/a leased/b"])
      // The committed clock runs (etcdctl calls are slow on a loaded machine).
      expect(Number(m?.[2])).toBeGreaterThan(80)
      expect(Number(m?.[2])).toBeLessThanOrEqual(100)
      expect((await ctl(node, ["lease", "list"])).out).toBe(`found 1 leases\n${id}\n`)
    }
    expect((await ctl(f2, ["lease", "keep-alive", "--once", id])).out).toBe(
      `lease ${id} keepalived with TTL(100)\n`,
    )
    // etcdctl prints the int64 lease as a JSON number: read it as text (above 2^53).
    const json = (await ctl(f1, ["get", "leased/a", "-w", "json"])).out
    expect(BigInt(/"lease":(\d+)/.exec(json)?.[1] ?? "0")).toBe(BigInt(`0x${id}`))
    const before = JSON.parse((await ctl(leader, ["get", "x", "-w", "json"])).out).header.revision as number
    expect((await ctl(f1, ["lease", "revoke", id])).out).toBe(`lease ${id} revoked\n`)
    // Both keys go in one revision.
    const after = JSON.parse((await ctl(leader, ["get", "leased/", "--prefix", "-w", "json"])).out)
    expect(after.kvs).toBeUndefined()
    expect(after.header.revision).toBe(before + 1)
    expect((await ctl(f2, ["lease", "timetolive", id])).out).toBe(`lease ${id} already expired\n`)
    expect((await ctl(f2, ["lease", "list"])).out).toBe("found 0 leases\n")
  }, 60_000)

  test("int64 lease ids end to end: etcd-like assigned ids, a client id near 2^63 over gRPC, etcdctl and the JSON gateway", async () => {
    const [f1, f2] = followers() as [string, string]
    // Assigned ids look like etcd's: 16 hex digits, above 2^53.
    const assigned = grantedId((await ctl(f1, ["lease", "grant", "60"])).out)
    expect(assigned).toMatch(/^[0-9a-f]{16}$/)
    expect(BigInt(`0x${assigned}`)).toBeGreaterThan(2n ** 53n)
    expect((await ctl(f2, ["put", "int64/assigned", "v", `--lease=${assigned}`])).out).toBe("OK\n")
    // A client-chosen id near 2^63 (what etcd's id generator can produce), granted over gRPC.
    const big = 2n ** 63n - 2n
    const hex = big.toString(16)
    const client = new LeaseClient(endpoint(f1))
    try {
      const g = await client.grant(60, 8000, big)
      expect(g.ID).toBe(big)
      const again = await client.grant(60, 8000, big).catch((e: Error) => e)
      expect(String(again)).toContain("lease already exists")
    } finally {
      client.close()
    }
    expect((await ctl(f2, ["put", "int64/big", "v", `--lease=${hex}`])).out).toBe("OK\n")
    const ttl = (await ctl(f1, ["lease", "timetolive", hex, "--keys"])).out
    expect(ttl).toMatch(
      new RegExp(
        `^lease ${hex} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[int64/big\\]\\)\n$`,
      ),
    )
    expect((await ctl(f2, ["lease", "keep-alive", "--once", hex])).out).toBe(
      `lease ${hex} keepalived with TTL(60)\n`,
    )
    expect((await ctl(f1, ["lease", "list"])).out).toContain(`\n${hex}\n`)
    // The JSON gateway: int64 as decimal strings, exact in both directions.
    const http = `http://127.0.0.1:${tc.cluster.get(f2)!.listeners!.httpPort}`
    const post = async (path: string, body: unknown) =>
      (await (
        await fetch(`${http}${path}`, { method: "POST", body: JSON.stringify(body) })
      ).json()) as Record<string, unknown>
    const viaJson = 2n ** 62n + 12345n
    const granted = await post("/v3/lease/grant", { TTL: "60", ID: viaJson.toString() })
    expect(granted.ID).toBe(viaJson.toString())
    const range = await post("/v3/kv/range", { key: Buffer.from("int64/big").toString("base64") })
    expect((range.kvs as { lease: string }[])[0]!.lease).toBe(big.toString())
    const ttlJson = await post("/v3/lease/timetolive", { ID: big.toString(), keys: true })
    expect(ttlJson.ID).toBe(big.toString())
    // A LEASE compare with an operand above 2^53 decides exactly.
    const txn = await post("/v3/kv/txn", {
      compare: [
        {
          key: Buffer.from("int64/big").toString("base64"),
          target: "LEASE",
          result: "EQUAL",
          lease: big.toString(),
        },
        {
          key: Buffer.from("int64/big").toString("base64"),
          target: "MOD",
          result: "LESS",
          mod_revision: (2n ** 60n).toString(),
        },
      ],
    })
    expect(txn.succeeded).toBe(true)
    // Revoke deletes the key; the id is gone everywhere.
    expect((await ctl(f1, ["lease", "revoke", hex])).out).toBe(`lease ${hex} revoked\n`)
    expect((await ctl(f2, ["get", "int64/big"])).out).toBe("")
    expect((await ctl(f2, ["lease", "timetolive", hex])).out).toBe(`lease ${hex} already expired\n`)
    for (const id of [assigned, viaJson.toString(16)]) await ctl(f1, ["lease", "revoke", id])
  }, 60_000)

  test("errors are etcd's: lease not found, too large TTL", async () => {
    const [f1] = followers() as [string]
    const revoke = await ctl(f1, ["lease", "revoke", "abcdef"])
    expect(revoke.code).not.toBe(0)
    expect(revoke.err).toContain("etcdserver: requested lease not found")
    const put = await ctl(f1, ["put", "x", "y", "--lease=ffffffffffffff"])
    expect(put.err).toContain("etcdserver: requested lease not found")
    const large = await ctl(f1, ["lease", "grant", "9000000001"])
    expect(large.err).toContain("etcdserver: too large lease TTL")
    const keep = await ctl(f1, ["lease", "keep-alive", "--once", "abcdef"])
    expect(keep.err).toContain("etcdserver: requested lease not found")
  }, 30_000)

  test("an expired lease deletes its keys on every node; a kept-alive one stays", async () => {
    const leader = tc.cluster.leader()!
    const [f1] = followers() as [string]
    const short = grantedId((await ctl(f1, ["lease", "grant", "1"])).out)
    const kept = grantedId((await ctl(f1, ["lease", "grant", "3"])).out)
    await ctl(leader, ["put", "exp/short", "s", `--lease=${short}`])
    await ctl(leader, ["put", "exp/kept", "k", `--lease=${kept}`])
    const keeper = spawnEtcdctl(endpoint(f1), ["lease", "keep-alive", kept])
    try {
      await Bun.sleep(4000)
      for (const node of tc.cluster.ids) {
        expect((await ctl(node, ["get", "exp/", "--prefix", "--consistency=l"])).out).toBe("exp/kept\nk\n")
      }
      expect((await ctl(leader, ["lease", "timetolive", short])).out).toBe(`lease ${short} already expired\n`)
    } finally {
      await keeper.stop()
    }
    let left = "exp/kept\nk\n"
    for (let i = 0; i < 100 && left !== ""; i++) {
      await Bun.sleep(100)
      left = (await ctl(leader, ["get", "exp/", "--prefix"])).out
    }
    expect(left).toBe("")
  }, 30_000)

  test("a leader change does not reset the remaining TTL", async () => {
    const leader = tc.cluster.leader()!
    const id = grantedId((await ctl(leader, ["lease", "grant", "6"])).out)
    await Bun.sleep(2200)
    const target = followers()[0]!
    const moved = await ctl(leader, ["move-leader", memberIdOf(target).toString(16)])
    expect(moved.code).toBe(0)
    await tc.cluster.awaitLeader()
    expect(tc.cluster.leader()).toBe(target)
    // etcd would answer 6 here (a new leader restarts every TTL); the committed clock continues.
    const left = await remaining(target, id)
    expect(left).toBeLessThanOrEqual(4)
    expect(left).toBeGreaterThanOrEqual(2)
  }, 30_000)

  test("LIN-BOUND: without quorum, grant and time-to-live fail closed with UNAVAILABLE", async () => {
    const [f1, f2] = followers() as [string, string]
    const leader = tc.cluster.leader()!
    const id = grantedId((await ctl(f1, ["lease", "grant", "60"])).out)
    await tc.cluster.stop(f1)
    await tc.cluster.stop(f2)
    const grant = await etcdctl(endpoint(leader), ["lease", "grant", "10", "--command-timeout=6s"])
    expect(grant.code).not.toBe(0)
    expect(grant.err).toMatch(/Unavailable|leader|timed out/i)
    // etcdctl's timetolive has no deadline and retries UNAVAILABLE forever: ask the JSON gateway.
    const http = tc.cluster.get(leader)!.listeners!.httpPort
    const res = await fetch(`http://127.0.0.1:${http}/v3/lease/timetolive`, {
      method: "POST",
      body: JSON.stringify({ ID: String(BigInt(`0x${id}`)) }),
    })
    expect(res.status).toBe(503)
    expect(((await res.json()) as { code: number }).code).toBe(14)
    await tc.cluster.start(f1)
    await tc.cluster.start(f2)
    await tc.cluster.awaitLeader()
  }, 60_000)
})
