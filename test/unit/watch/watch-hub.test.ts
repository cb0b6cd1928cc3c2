import { afterEach, describe, expect, test } from "bun:test"
import { makeHubFixture, span } from "./hub-fixture.ts"

type Fixture = Awaited<ReturnType<typeof makeHubFixture>>
let f: Fixture | undefined
const open = async (options: Parameters<typeof makeHubFixture>[0] = {}) => {
  f = await makeHubFixture(options)
  return f
}
afterEach(async () => {
  await f?.close()
  f = undefined
})

describe("WatchHub", () => {
  test("live events reach exactly the watchers whose key, prefix or range matches", async () => {
    const h = await open()
    const one = h.watch({ span: span.one("a/1") })
    const prefix = h.watch({ span: span.prefix("a/") })
    const range = h.watch({ span: span.between("a/1", "a/3") })
    const from = h.watch({ span: span.from("b") })
    h.put("a/1", "x")
    h.put("a/3", "y")
    h.put("b", "z")
    h.put("ab", "w")
    await h.until(() => from.events.length === 1 && prefix.events.length === 2)
    await h.settle()
    expect(one.events).toEqual(["put a/1=x@2"])
    expect(prefix.events).toEqual(["put a/1=x@2", "put a/3=y@3"])
    expect(range.events).toEqual(["put a/1=x@2"])
    expect(from.events).toEqual(["put b=z@4"])
  })

  test("a revision with many events is one response, keys in order; prev_kv only when asked", async () => {
    const h = await open()
    h.put("k/b", "1")
    h.put("k/a", "1")
    const plain = h.watch({ span: span.prefix("k/") })
    const withPrev = h.watch({ span: span.prefix("k/"), prevKv: true })
    h.del("k/", "k0")
    await h.until(() => withPrev.events.length === 2)
    expect(withPrev.log).toEqual(["4: delete k/a=@4<1@3, delete k/b=@4<1@2"])
    expect(plain.log).toEqual(["4: delete k/a=@4, delete k/b=@4"])
  })

  test("history from a past revision comes in bounded pages that never split a revision, then live", async () => {
    const h = await open({ pageRows: 3 })
    for (let i = 0; i < 5; i++) h.put(`p/${i}`, `${i}`)
    h.del("p/", "p0") // revision 7 deletes five keys: one page on its own
    h.put("p/x", "after")
    const w = h.watch({ span: span.prefix("p/"), startRevision: 3, prevKv: true })
    await h.until(() => w.events.includes("put p/x=after@8"), "history")
    h.put("p/y", "live")
    await h.until(() => w.events.includes("put p/y=live@9"), "live")
    expect(w.events).toEqual([
      "put p/1=1@3",
      "put p/2=2@4",
      "put p/3=3@5",
      "put p/4=4@6",
      "delete p/0=@7<0@2",
      "delete p/1=@7<1@3",
      "delete p/2=@7<2@4",
      "delete p/3=@7<3@5",
      "delete p/4=@7<4@6",
      "put p/x=after@8",
      "put p/y=live@9",
    ])
    // Pages end on whole revisions; the five deletes of revision 7 travel together.
    expect(w.log.find((l) => l.includes("delete"))).toStartWith("7: delete p/0")
    expect(w.log.filter((l) => l.includes("delete")).length).toBe(1)
    expect(w.revisions).toEqual([...w.revisions].sort((a, b) => a - b))
  })

  test("a watcher whose client lags stops getting live events, then catches up from storage, losing nothing", async () => {
    const h = await open({ maxBacklog: 5, resumeBacklog: 2 })
    const slow = h.watch({ span: span.prefix("s/") })
    const fast = h.watch({ span: span.prefix("s/") })
    slow.backlog = 5
    for (let i = 0; i < 20; i++) h.put(`s/${i}`, `${i}`)
    await h.until(() => fast.events.length === 20, "fast watcher")
    expect(slow.events).toEqual([])
    expect(h.hub.stats().unsynced).toBe(1)
    expect(h.hub.stats().demotions).toBe(1)
    slow.backlog = 0
    await h.until(() => slow.events.length === 20, "slow watcher catch-up")
    expect(slow.events).toEqual(fast.events)
    h.put("s/last", "x")
    await h.until(() => slow.events.length === 21)
    expect(h.hub.stats().synced).toBe(2)
  })

  test("a start revision below the compaction floor is cancelled with compact_revision", async () => {
    const h = await open()
    for (let i = 0; i < 4; i++) h.put("c", `${i}`)
    h.apply({ type: "compact", request: { revision: 4 } })
    const old = h.watch({ span: span.one("c"), startRevision: 3 })
    const atFloor = h.watch({ span: span.one("c"), startRevision: 4, prevKv: true })
    await h.until(() => old.compacted !== undefined && atFloor.events.length === 2)
    expect(old.compacted).toBe(4)
    expect(old.events).toEqual([])
    // prev_kv is left out where revision - 1 is compacted, as etcd does.
    expect(atFloor.events).toEqual(["put c=2@4", "put c=3@5<2@4"])
  })

  test("changes the hub was not told about (a snapshot install, a replica restart) are re-read from storage", async () => {
    const h = await open()
    const w = h.watch({ span: span.prefix("r/") })
    h.put("r/1", "a")
    await h.until(() => w.events.length === 1)
    h.put("r/2", "b", false)
    h.put("r/3", "c", false)
    h.hub.restored(h.fx.sm.revision)
    await h.until(() => w.events.length === 3, "after restored")
    h.put("r/4", "d", false)
    // Nobody said anything: the catch-up loop notices that the store moved on.
    await h.until(() => w.events.length === 4, "self-heal")
    h.put("r/5", "e")
    await h.until(() => w.events.length === 5)
    expect(w.events).toEqual(["put r/1=a@2", "put r/2=b@3", "put r/3=c@4", "put r/4=d@5", "put r/5=e@6"])
  })

  test("cancelAll ends every watch with the reason, and refuses new ones until acceptNew", async () => {
    const h = await open()
    const a = h.watch({ span: span.one("x") })
    const b = h.watch({ span: span.one("y"), startRevision: 1 })
    expect(h.hub.cancelAll("draining: reconnect elsewhere", { refuseNew: true })).toBe(2)
    expect([a.cancelled, b.cancelled]).toEqual([
      "draining: reconnect elsewhere",
      "draining: reconnect elsewhere",
    ])
    const c = h.watch({ span: span.one("x") })
    expect(c.cancelled).toBe("draining: reconnect elsewhere")
    h.hub.acceptNew()
    const d = h.watch({ span: span.one("x") })
    h.put("x", "1")
    await h.until(() => d.events.length === 1)
    expect(a.events).toEqual([])
    expect(h.hub.stats().watchers).toBe(1)
  })

  test("progress: periodic notifications for watches that asked, and bookmarks that never pass an undelivered event", async () => {
    const h = await open({ progressIntervalMs: 20, maxBacklog: 1 })
    const asked = h.watch({ span: span.one("p"), progressNotify: true })
    const silent = h.watch({ span: span.one("p") })
    h.put("p", "1")
    await h.until(() => asked.progress.length >= 2, "progress")
    expect(asked.progress.every((r) => r >= 1)).toBe(true)
    expect(silent.progress).toEqual([])
    expect(asked.handle.progressRevision()).toBe(h.fx.sm.revision)
    // A lagging watcher's bookmark stays below its first undelivered event.
    silent.backlog = 1
    h.put("p", "2")
    await h.until(() => h.hub.stats().unsynced === 1)
    expect(silent.handle.progressRevision()).toBe(h.fx.sm.revision - 1)
  })

  test("cancel stops delivery; the tenant that has never written yields nothing until it does", async () => {
    const h = await open()
    const w = h.watch({ span: span.one("t"), startRevision: 1 })
    await h.settle()
    expect(w.events).toEqual([])
    h.put("t", "1")
    await h.until(() => w.events.length === 1)
    w.handle.cancel()
    h.put("t", "2")
    await h.settle()
    expect(w.events).toEqual(["put t=1@2"])
    expect(h.hub.stats().watchers).toBe(0)
  })
})
