/** LIN-BOUND: a node that cannot prove ReadIndex answers UNAVAILABLE, never a possibly stale value. */
import { afterEach, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { EtcdError, GrpcCode } from "../../../src/adapters/etcd/errors.ts"
import { makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

let tc: TestCluster | undefined
afterEach(async () => {
  await tc?.cleanup()
  tc = undefined
})

const enc = (s: string) => new TextEncoder().encode(s)

describe("LIN-BOUND", () => {
  test("an isolated node fails linearizable reads with UNAVAILABLE while serializable reads stay local", async () => {
    tc = makeTestCluster(
      3,
      (o) => ({ ...o, requestTimeoutMs: 600 }),
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    const { cluster } = tc
    await cluster.startAll()
    const leader = await cluster.awaitLeader()
    await put(cluster, leader, "x", "old")
    // Let every node apply it, then cut one off and move on without it.
    for (const r of cluster.nodes()) await Effect.runPromise(Effect.ignore(r.node.barrier()))
    const isolated = cluster.ids.find((id) => id !== leader)!
    cluster.network.isolate(isolated)
    const others = cluster.ids.filter((id) => id !== isolated)
    await put(cluster, others.find((id) => id !== leader) ?? leader, "x", "new")

    const backend = cluster.get(isolated)!.listeners!.backend
    const lin = await backend.range({ key: enc("x") }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(lin).toBeInstanceOf(EtcdError)
    expect((lin as EtcdError).code).toBe(GrpcCode.UNAVAILABLE)

    const ser = await backend.range({ key: enc("x"), serializable: true })
    expect(new TextDecoder().decode(ser.kvs![0]!.value)).toBe("old")

    // A write through the isolated node cannot reach a quorum either.
    const w = await backend.put({ key: enc("y"), value: enc("1") }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(w).toBeInstanceOf(EtcdError)
    expect((w as EtcdError).code).toBe(GrpcCode.UNAVAILABLE)

    // Healed, it serves the new value linearizably.
    cluster.network.heal()
    let value = ""
    for (let i = 0; i < 100 && value !== "new"; i++) {
      const r = await backend.range({ key: enc("x") }).catch(() => null)
      value = r === null ? "" : new TextDecoder().decode(r.kvs![0]!.value)
      if (value !== "new") await Bun.sleep(20)
    }
    expect(value).toBe("new")
  }, 30_000)
  test("with [consensus] snapshot_only_reads = false, a follower's serializable read is linearizable too", async () => {
    tc = makeTestCluster(
      3,
      (o) => ({ ...o, requestTimeoutMs: 600, snapshotOnlyReads: false }),
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    const { cluster } = tc
    await cluster.startAll()
    const leader = await cluster.awaitLeader()
    await put(cluster, leader, "x", "v")
    const follower = cluster.ids.find((id) => id !== leader)!
    const backend = cluster.get(follower)!.listeners!.backend
    const connected = await backend.range({ key: enc("x"), serializable: true })
    expect(new TextDecoder().decode(connected.kvs![0]!.value)).toBe("v")
    cluster.network.isolate(follower)
    const ser = await backend.range({ key: enc("x"), serializable: true }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(ser).toBeInstanceOf(EtcdError)
    expect((ser as EtcdError).code).toBe(GrpcCode.UNAVAILABLE)
  }, 30_000)
})
