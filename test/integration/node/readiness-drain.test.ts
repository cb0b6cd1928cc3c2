/** /readyz, the health aliases and the drain workflow over a 3-node in-process cluster's HTTP listeners. */
import { afterEach, describe, expect, test } from "bun:test"
import { Schema } from "effect"
import { DrainStatus, ReadinessReport } from "../../../src/sdk/readiness.ts"
import { makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

let tc: TestCluster | null = null
afterEach(async () => {
  await tc?.cleanup()
  tc = null
})

const start = async () => {
  tc = makeTestCluster(
    3,
    (o) => o,
    () => ({
      etcd: "127.0.0.1:0",
      http: "127.0.0.1:0",
      readinessProbeMs: 50,
      readinessMaxAgeMs: 1000,
      drainTimeoutMs: 2000,
      transferTimeoutMs: 10_000,
    }),
  )
  await tc.cluster.startAll()
  return { t: tc, leader: await tc.cluster.awaitLeader() }
}

const url = (t: TestCluster, id: string, path: string) =>
  `http://127.0.0.1:${t.cluster.get(id)!.listeners!.httpPort}${path}`

const waitFor = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    if (await check()) return
    await Bun.sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const readyz = async (t: TestCluster, id: string) => {
  const res = await fetch(url(t, id, "/readyz"))
  return { status: res.status, body: Schema.decodeUnknownSync(ReadinessReport)(await res.json()) }
}

const drainStatus = async (t: TestCluster, id: string) =>
  Schema.decodeUnknownSync(DrainStatus)(await (await fetch(url(t, id, "/v1/admin/drain"))).json())

const b64 = (s: string) => Buffer.from(s).toString("base64")
const gatewayPut = (t: TestCluster, id: string, key: string, value: string) =>
  fetch(url(t, id, "/v3/kv/put"), {
    method: "POST",
    body: JSON.stringify({ key: b64(key), value: b64(value) }),
  })

describe("readiness", () => {
  test("every node of a healthy cluster is ready, with the seed's JSON; aliases and verbose text", async () => {
    const { t } = await start()
    for (const id of t.cluster.ids)
      await waitFor(`${id} ready`, async () => (await readyz(t, id)).status === 200)
    const { body } = await readyz(t, t.cluster.ids[0]!)
    expect(Object.keys(body).sort()).toEqual(
      ["cache_age_seconds", "conditions", "manifest_digest", "ready", "routing_epoch"].sort(),
    )
    expect(body.conditions).toEqual({
      cp_cache_fresh: true,
      routing_epoch_valid: true,
      leader_elected: true,
      can_serve_reads: true,
      adapters_ready: true,
    })
    // Every node holds the same manifest.
    const digests = await Promise.all(
      t.cluster.ids.map(async (id) => (await readyz(t, id)).body.manifest_digest),
    )
    expect(new Set(digests).size).toBe(1)
    expect((await fetch(url(t, "n1", "/health/ready"))).status).toBe(200)
    for (const p of ["/livez", "/healthz", "/health", "/health/live"])
      expect(await (await fetch(url(t, "n1", p))).text()).toBe("ok\n")
    const verbose = await (await fetch(url(t, "n1", "/readyz?verbose"))).text()
    expect(verbose).toContain("[+]can_serve_reads ok")
    expect(verbose.trim().endsWith("readyz check passed")).toBe(true)
  }, 30_000)

  test("a node cut off from the others answers 503 and says which conditions fail", async () => {
    const { t, leader } = await start()
    const follower = t.cluster.ids.find((id) => id !== leader)!
    await waitFor("ready", async () => (await readyz(t, follower)).status === 200)
    t.cluster.network.isolate(follower)
    await waitFor("not ready", async () => (await readyz(t, follower)).status === 503)
    let text = ""
    // Reads fail closed once the last proof is older than the freshness bound.
    await waitFor("reads refused", async () => {
      const res = await fetch(url(t, follower, "/readyz?verbose"))
      text = await res.text()
      return res.status === 503 && text.includes("[-]can_serve_reads failed: ")
    })
    expect(text).toContain("[-]leader_elected failed: no leader known")
    expect(text).toContain("[-]cp_cache_fresh failed: ")
    expect(text.trim().endsWith("readyz check failed")).toBe(true)
    const { body } = await readyz(t, follower)
    expect(body.ready).toBe(false)
    expect(body.conditions.can_serve_reads).toBe(false)
  }, 30_000)
})

describe("drain", () => {
  test("draining the leader: 503 at once, new requests refused, leadership moves, it becomes a learner; cancel undoes it", async () => {
    const { t, leader } = await start()
    await put(t.cluster, leader, "before", "1")
    // An open watch on the node: the drain ends it with a reason clients act on.
    const cancelledWith: string[] = []
    const backend = t.cluster.get(leader)!.listeners!.backend
    backend.watches!.watch(
      { key: new TextEncoder().encode("w"), rangeEnd: undefined, startRevision: 0n, prevKv: false },
      {
        events: () => {},
        compacted: () => {},
        progress: () => {},
        cancelled: (reason) => cancelledWith.push(reason),
        backlog: () => 0,
      },
    )
    const started = await fetch(url(t, leader, "/v1/admin/drain"), { method: "POST" })
    expect(started.status).toBe(202)
    expect((await readyz(t, leader)).status).toBe(503)
    await waitFor("drained", async () => (await drainStatus(t, leader)).state === "drained")
    const s = await drainStatus(t, leader)
    expect(s.steps.map((x) => `${x.name}:${x.status}`)).toEqual([
      "mark_draining:done",
      "stop_accepting:done",
      "wait_inflight:done",
      "cancel_watches:done",
      "transfer_leadership:done",
      "become_observer:done",
      "drained:done",
    ])
    expect(s.steps[3]!.detail).toBe("1 watch(es) cancelled")
    expect(cancelledWith).toEqual(["node draining: reconnect the watch to another endpoint"])
    const others = t.cluster.ids.filter((id) => id !== leader)
    const now = t.cluster.get(others[0]!)!.node.group()!.view.status
    expect(now.leader).not.toBe(leader)
    expect(now.conf.learners).toEqual([leader])
    expect(t.cluster.get(leader)!.node.group()!.view.status.role).toBe("learner")
    const metrics = await (await fetch(url(t, leader, "/metrics"))).text()
    expect(metrics).toMatch(/^lattice_drain_step\{[^}]*\} 7$/m)
    expect(metrics).toMatch(/^lattice_drain_in_progress\{[^}]*\} 0$/m)
    expect(metrics).toMatch(/^lattice_ready\{[^}]*\} 0$/m)
    // A client request on the drained node: UNAVAILABLE with a message that says what to do.
    const refused = await gatewayPut(t, leader, "k", "v")
    expect(refused.status).toBe(503)
    const err = (await refused.json()) as { code: number; message: string }
    expect(err.code).toBe(14)
    expect(err.message).toContain("retry against another endpoint")
    // The rest of the cluster keeps serving.
    expect((await gatewayPut(t, others[0]!, "k", "v")).status).toBe(200)
    // A second drain is refused; cancel reopens and promotes it back.
    expect((await fetch(url(t, leader, "/v1/admin/drain"), { method: "POST" })).status).toBe(409)
    const cancelled = await fetch(url(t, leader, "/v1/admin/drain/cancel"), { method: "POST" })
    expect(cancelled.status).toBe(200)
    expect((await drainStatus(t, leader)).state).toBe("cancelled")
    await waitFor("voter again", async () =>
      t.cluster.get(others[0]!)!.node.group()!.view.status.conf.voters.includes(leader),
    )
    await waitFor("ready again", async () => (await readyz(t, leader)).status === 200)
    expect((await gatewayPut(t, leader, "k2", "v")).status).toBe(200)
  }, 40_000)

  test("transfer-leadership and force-election through the admin API", async () => {
    const { t, leader } = await start()
    const [a, b] = t.cluster.ids.filter((id) => id !== leader)
    const notLeader = await fetch(url(t, a!, "/v1/admin/transfer-leadership"), {
      method: "POST",
      body: JSON.stringify({ to: b }),
    })
    expect(notLeader.status).toBe(409)
    expect(((await notLeader.json()) as { error: string }).error).toContain(`leader: ${leader}`)
    const moved = await fetch(url(t, leader, "/v1/admin/transfer-leadership"), {
      method: "POST",
      body: JSON.stringify({ to: a }),
    })
    expect(moved.status).toBe(200)
    expect(await moved.json()).toMatchObject({ leader: a, changed: true })
    // A forced election is refused by a voter with a longer log (documented 504): let b receive
    // the new leader's first entries before it campaigns.
    const st = (id: string) => t.cluster.get(id)!.node.group()!.view.status
    await waitFor(
      "b caught up with a",
      async () => st(b!).lastIndex === st(a!).lastIndex && st(a!).commit === st(a!).lastIndex,
    )
    // An entry the leader appends between that check and the campaign (its lease clock ticks)
    // makes a voter refuse b (504, documented); a refused campaign costs an election: retry.
    let forced = await fetch(url(t, b!, "/v1/admin/force-election"), { method: "POST" })
    for (let attempt = 1; attempt < 3 && forced.status === 504; attempt++) {
      await Bun.sleep(200)
      forced = await fetch(url(t, b!, "/v1/admin/force-election"), { method: "POST" })
    }
    expect(forced.status).toBe(200)
    expect(await forced.json()).toMatchObject({ leader: b, changed: true })
    await waitFor("all agree", async () => t.cluster.leader() === b)
    const unknown = await fetch(url(t, b!, "/v1/admin/nope"), { method: "POST" })
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: string }).error).toContain("known routes")
  }, 30_000)
})

describe("restart after a drain", () => {
  test("a drained node that restarts rejoins as a voter once caught up", async () => {
    const { t, leader } = await start()
    const follower = t.cluster.ids.find((id) => id !== leader)!
    expect((await fetch(url(t, follower, "/v1/admin/drain"), { method: "POST" })).status).toBe(202)
    await waitFor("drained", async () => (await drainStatus(t, follower)).state === "drained")
    expect(t.cluster.get(leader)!.node.group()!.view.status.conf.learners).toEqual([follower])
    await t.cluster.stop(follower)
    await put(t.cluster, leader, "while-down", "1")
    await t.cluster.start(follower)
    await waitFor("voter again", async () =>
      t.cluster.get(leader)!.node.group()!.view.status.conf.voters.includes(follower),
    )
    expect(t.cluster.get(leader)!.node.group()!.view.status.conf.learners).toEqual([])
    await waitFor("ready", async () => (await readyz(t, follower)).status === 200)
  }, 40_000)
})
