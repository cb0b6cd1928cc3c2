/**
 * Writes through the leader's own etcd backend take the fast path (node.writeNow: no fiber per
 * request). These check what that path owes the Effect path it short-cuts: a deadline, and a
 * refusal (NotLeader) handed back to the path that forwards to the new leader.
 */
import { afterEach, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { EtcdError } from "../../../src/adapters/etcd/errors.ts"
import { memberIdOf } from "../../../src/node/ids.ts"
import { makeTestCluster, type TestCluster } from "./cluster-support.ts"

let tc: TestCluster | undefined
afterEach(async () => {
  await tc?.cleanup()
  tc = undefined
})

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b)

describe("writes on the leader", () => {
  test("a write the leader cannot commit fails at its deadline, not when the leader steps down", async () => {
    // Check-quorum steps the isolated leader down only after 3 s; the request timeout is 600 ms.
    tc = makeTestCluster(
      3,
      (o) => ({ ...o, tickMs: 100, electionTicks: 30, requestTimeoutMs: 600 }),
      () => ({
        etcd: "127.0.0.1:0",
        http: "127.0.0.1:0",
      }),
    )
    const { cluster } = tc
    await cluster.startAll()
    const leader = await cluster.awaitLeader()
    const backend = cluster.get(leader)!.listeners!.backend
    await backend.put({ key: enc("before"), value: enc("1") })
    cluster.network.isolate(leader)
    expect(cluster.get(leader)!.node.group()!.view.status.role).toBe("leader")
    const started = performance.now()
    const failure = await backend.put({ key: enc("cut-off"), value: enc("1") }).then(
      () => null,
      (e: unknown) => e,
    )
    const elapsed = performance.now() - started
    expect(failure).toBeInstanceOf(EtcdError)
    expect((failure as EtcdError).message).toContain("timed out")
    expect(elapsed).toBeGreaterThanOrEqual(500)
    expect(elapsed).toBeLessThan(2500)
    // Still the leader as far as it knows: the deadline, not a step-down, ended the request.
    expect(cluster.get(leader)!.node.group()!.view.status.role).toBe("leader")
    cluster.network.heal()
  }, 30_000)

  test("writes racing a leadership transfer all succeed: a refused proposal is forwarded to the new leader", async () => {
    tc = makeTestCluster(
      3,
      (o) => o,
      () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
    )
    const { cluster } = tc
    await cluster.startAll()
    const leader = await cluster.awaitLeader()
    const target = cluster.ids.find((id) => id !== leader)!
    const backend = cluster.get(leader)!.listeners!.backend
    const workers = 16
    const perWorker = 40
    let completed = 0
    let moved: Promise<void> | null = null
    const failures: unknown[] = []
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let i = 0; i < perWorker; i++) {
          // Move the leadership away while every worker has a write in flight.
          if (completed === (workers * perWorker) / 4 && moved === null)
            moved = backend.moveLeader(memberIdOf(target))
          await backend
            .put({ key: enc(`w${w}/${i}`), value: enc(`v${w}.${i}`) })
            .catch((e: unknown) => failures.push(e))
          completed++
        }
      }),
    )
    await moved
    expect(failures).toEqual([])
    expect(cluster.get(target)!.node.group()!.view.status.role).toBe("leader")
    // Every acknowledged write is there, read linearizably through the new leader.
    const reader = cluster.get(target)!.listeners!.backend
    await Effect.runPromise(Effect.ignore(cluster.get(target)!.node.barrier()))
    const all = await reader.range({ key: enc("w"), rangeEnd: enc("x") })
    const values = new Map((all.kvs ?? []).map((kv) => [dec(kv.key), dec(kv.value)]))
    expect(values.size).toBe(workers * perWorker)
    for (let w = 0; w < workers; w++)
      for (let i = 0; i < perWorker; i++) expect(values.get(`w${w}/${i}`)).toBe(`v${w}.${i}`)
  }, 30_000)
})
