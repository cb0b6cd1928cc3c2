/**
 * `etcdctl member add | promote | remove | update` against in-process Lattice nodes, answered as
 * etcd 3.4 does: a learner that has not caught up cannot be promoted; a caught-up one can.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { memberIdOf } from "../../../src/node/ids.ts"
import { LocalCluster } from "../../../src/node/local-cluster.ts"
import { etcdctl } from "../etcdctl/harness.ts"
import { testNodeOptions } from "./cluster-support.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl") || process.env.ETCDCTL_BIN !== undefined

describe.skipIf(!hasEtcdctl)("etcdctl member against Lattice", () => {
  let cluster: LocalCluster
  let dir: string
  const endpoint = (id: string) => `127.0.0.1:${cluster.get(id)!.listeners!.etcdPort}`
  const hex = (id: string) => memberIdOf(id).toString(16)

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lattice-member-"))
    const voters = ["n1", "n2", "n3"]
    cluster = new LocalCluster(
      ["n1", "n2", "n3", "n4"].map((id) => ({
        options: { ...testNodeOptions(id, voters, dir), join: id === "n4" },
        listeners: { etcd: "127.0.0.1:0", http: "127.0.0.1:0" },
      })),
    )
    for (const id of voters) await cluster.start(id)
    await cluster.awaitLeader()
  })
  afterAll(async () => {
    await cluster.stopAll()
    rmSync(dir, { recursive: true, force: true })
  })

  test("add a learner, promote fails until it is in sync, then succeeds; remove; update", async () => {
    // n5 never starts: a learner that cannot catch up.
    const add5 = await etcdctl(endpoint("n2"), [
      "member",
      "add",
      "n5",
      "--peer-urls=http://n5:2380",
      "--learner",
    ])
    expect(add5.code).toBe(0)
    expect(add5.out).toContain(`Member ${hex("n5")} added to cluster`)
    const promote5 = await etcdctl(endpoint("n1"), ["member", "promote", hex("n5")])
    expect(promote5.code).not.toBe(0)
    expect(promote5.err).toContain("can only promote a learner member which is in sync with leader")
    // Adding the same member again: etcd's answer.
    const again = await etcdctl(endpoint("n1"), ["member", "add", "n5", "--peer-urls=http://n5:2380"])
    expect(again.err).toContain("member ID already exist")
    // Remove the learner that never came.
    const rm5 = await etcdctl(endpoint("n3"), ["member", "remove", hex("n5")])
    expect(rm5.code).toBe(0)
    expect(rm5.out).toContain(`Member ${hex("n5")} removed from cluster`)

    // n4 runs: add it as a learner; once in sync, promote works (etcd leaves promotion to the operator).
    await cluster.start("n4")
    const add4 = await etcdctl(endpoint("n1"), [
      "member",
      "add",
      "n4",
      "--peer-urls=http://n4:2380",
      "--learner",
    ])
    expect(add4.code).toBe(0)
    let promoted = false
    for (let i = 0; i < 100 && !promoted; i++) {
      const p = await etcdctl(endpoint("n2"), ["member", "promote", hex("n4")])
      promoted = p.code === 0 && p.out.includes(`Member ${hex("n4")} promoted in cluster`)
      if (!promoted) await Bun.sleep(100)
    }
    expect(promoted).toBe(true)
    const list = await etcdctl(endpoint("n4"), ["member", "list", "-w", "json"])
    const members = JSON.parse(list.out).members as { name: string; isLearner?: boolean }[]
    expect(members.map((m) => m.name).sort()).toEqual(["n1", "n2", "n3", "n4"])
    expect(members.every((m) => m.isLearner !== true)).toBe(true)
    // Unknown member ids: etcd's NOT_FOUND.
    const rmUnknown = await etcdctl(endpoint("n1"), ["member", "remove", "1234"])
    expect(rmUnknown.err).toContain("member not found")
    // Peer URLs are configuration, not Raft state: an update that changes them says so.
    const upd = await etcdctl(endpoint("n1"), [
      "member",
      "update",
      hex("n2"),
      "--peer-urls=http://10.9.9.9:2380",
    ])
    expect(upd.code).not.toBe(0)
    expect(upd.err).toContain("[[cluster.peers]]")
  }, 60_000)
})
