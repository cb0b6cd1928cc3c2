/**
 * The etcd watch protocol over a real node (1-node in-process cluster, real SQLite), calling the
 * service's stream directly: `fragment` splits a large revision, `progress_notify` sends periodic
 * bookmarks, a progress request answers a revision every watcher has fully received, and
 * `cancelAll` (the drain) fails the stream UNAVAILABLE with its reason.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { EtcdError, GrpcCode } from "../../../src/adapters/etcd/errors.ts"
import type * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { NodeEtcdBackend } from "../../../src/node/etcd-backend.ts"
import { makeTestCluster, type TestCluster } from "./cluster-support.ts"

const te = new TextEncoder()

/** A watch stream fed by `send`, read into `got`. */
const openStream = (svc: EtcdService) => {
  const inbox: pb.WatchRequest[] = []
  let wake: (() => void) | undefined
  const requests = (async function* () {
    while (true) {
      while (inbox.length > 0) yield inbox.shift()!
      await new Promise<void>((r) => {
        wake = r
      })
    }
  })()
  const abort = new AbortController()
  const got: pb.WatchResponse[] = []
  let failure: unknown
  const done = (async () => {
    try {
      for await (const r of svc.watch(requests, abort.signal)) got.push(r)
    } catch (e) {
      failure = e
    }
  })()
  return {
    got,
    failure: () => failure,
    send: (r: pb.WatchRequest) => {
      inbox.push(r)
      wake?.()
    },
    until: async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 2000 && !cond(); i++) await Bun.sleep(5)
      if (!cond()) throw new Error(`timed out waiting for ${what}`)
    },
    close: async () => {
      abort.abort()
      await done
    },
  }
}

describe("etcd watch protocol over a node", () => {
  let tc: TestCluster
  let backend: NodeEtcdBackend
  beforeAll(async () => {
    tc = makeTestCluster(1, (o) => ({ ...o, watchProgressIntervalMs: 50 }))
    await tc.cluster.startAll()
    await tc.cluster.awaitLeader()
    backend = new NodeEtcdBackend(tc.cluster.get("n1")!.node)
  }, 30_000)
  afterAll(async () => {
    await tc.cleanup()
  })

  test("fragment splits a large revision into parts; without it the revision is one response", async () => {
    const svc = new EtcdService(backend, { maxRequestBytes: 1024 })
    const s = openStream(svc)
    s.send({
      createRequest: { key: te.encode("f/"), rangeEnd: te.encode("f0"), fragment: true, watchId: 1n },
    })
    s.send({ createRequest: { key: te.encode("f/"), rangeEnd: te.encode("f0"), watchId: 2n } })
    await s.until(() => s.got.length === 2, "created")
    const value = te.encode("x".repeat(300))
    const success = Array.from({ length: 10 }, (_, i) => ({
      requestPut: { key: te.encode(`f/${i}`), value },
    }))
    await backend.txn({ success })
    await s.until(() => s.got.some((r) => r.watchId === 2n && (r.events?.length ?? 0) > 0), "events")
    await s.until(
      () => s.got.some((r) => r.watchId === 1n && r.fragment !== true && (r.events?.length ?? 0) > 0),
      "last fragment",
    )
    const parts = s.got.filter((r) => r.watchId === 1n && (r.events?.length ?? 0) > 0)
    expect(parts.length).toBeGreaterThan(1)
    expect(parts.slice(0, -1).every((r) => r.fragment === true)).toBe(true)
    expect(parts.at(-1)!.fragment).toBeUndefined()
    expect(parts.flatMap((r) => r.events!).length).toBe(10)
    const whole = s.got.filter((r) => r.watchId === 2n && (r.events?.length ?? 0) > 0)
    expect(whole.map((r) => r.events!.length)).toEqual([10])
    await s.close()
  }, 30_000)

  test("progress_notify and progress requests give bookmarks; cancelAll fails the stream with its reason", async () => {
    const svc = new EtcdService(backend)
    const s = openStream(svc)
    s.send({ createRequest: { key: te.encode("p"), progressNotify: true, watchId: 5n } })
    await s.until(() => s.got.some((r) => r.created === true), "created")
    const put = await backend.put({ key: te.encode("p"), value: te.encode("1") })
    const rev = put.header!.revision!
    const isProgress = (r: pb.WatchResponse) => r.watchId === 5n && r.events === undefined && !r.created
    const eventAt = () => s.got.findIndex((r) => r.watchId === 5n && (r.events?.length ?? 0) > 0)
    await s.until(() => eventAt() >= 0 && s.got.slice(eventAt() + 1).some(isProgress), "periodic progress")
    // Bookmarks: none before the event claims its revision; the next one after it does.
    expect(
      s.got
        .slice(0, eventAt())
        .filter(isProgress)
        .every((r) => r.header!.revision! < rev),
    ).toBe(true)
    expect(s.got.slice(eventAt() + 1).find(isProgress)!.header!.revision).toBeGreaterThanOrEqual(rev)
    s.send({ progressRequest: {} })
    await s.until(() => s.got.some((r) => r.watchId === -1n), "progress answer")
    expect(s.got.find((r) => r.watchId === -1n)!.header!.revision).toBe(backend.identity().revision)
    const reason =
      "lattice: node draining, reconnect to another member and resume from your last revision + 1"
    expect(tc.cluster.get("n1")!.node.watchHub()!.cancelAll(reason)).toBe(1)
    await s.until(() => s.failure() !== undefined, "stream failure")
    expect(s.failure()).toBeInstanceOf(EtcdError)
    expect((s.failure() as EtcdError).code).toBe(GrpcCode.UNAVAILABLE)
    expect((s.failure() as EtcdError).message).toBe(reason)
    await s.close()
  }, 30_000)
})
