/**
 * The divergence check on real `lattice start` processes: a healthy cluster counts no divergence;
 * a KV row changed behind Raft's back in a stopped node's kv-1.db is found once the node is back,
 * counted on every node, logged as STATE DIVERGENCE DETECTED naming the nodes and the revision,
 * reported in divergence-report.json, and the corrupted (minority) node stops being ready.
 */
import { Database } from "bun:sqlite"
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import { parseExposition, sampleValue } from "../metrics/support.ts"
import { hasNats, processCluster } from "./process-cluster.ts"

const IDS = ["n1", "n2", "n3"]

describe.skipIf(!hasNats)("divergence check (3 processes)", () => {
  const c = processCluster(IDS, ["--set", "consensus.divergence_check_interval_seconds=1"])
  const b64 = (s: string) => Buffer.from(s).toString("base64")

  const divergences = async (id: string): Promise<number> => {
    const res = await fetch(`${c.httpEndpoint(id)}/metrics`, { signal: AbortSignal.timeout(3000) })
    return sampleValue(parseExposition(await res.text()), "lattice_errors_divergences", { group: "1" })
  }
  const readyz = async (id: string) => {
    const res = await fetch(`${c.httpEndpoint(id)}/readyz?verbose`, { signal: AbortSignal.timeout(3000) })
    return { status: res.status, text: await res.text() }
  }
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const until = performance.now() + ms
    while (performance.now() < until) {
      try {
        if (await check()) return
      } catch {
        // not up yet
      }
      await Bun.sleep(100)
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  test("a healthy cluster reports no divergence; a corrupted KV row is detected and counted", async () => {
    const leader = await c.leaderOf(IDS)
    for (let i = 0; i < 20; i++) {
      const r = await c.call(leader, "/v3/kv/put", { key: b64(`key${i}`), value: b64(`value${i}`) })
      expect(r.status).toBe(200)
    }
    // Every node has applied the writes; several checks (one a second) run and agree.
    await waitFor("every node applied the writes", async () => {
      const applied = await Promise.all(IDS.map(async (id) => (await c.status(id)).groups[0]!.applied))
      return applied.every((a) => a === applied[0])
    })
    await Bun.sleep(3000)
    for (const id of IDS) {
      expect({ id, divergences: await divergences(id) }).toEqual({ id, divergences: 0 })
      expect((await readyz(id)).text).toContain("[+]no_divergence ok")
    }

    // Corrupt one stored value on a stopped follower, behind Raft's back.
    const victim = IDS.find((id) => id !== leader)!
    await c.kill(victim)
    const db = new Database(join(c.dataDir(victim), "kv-1.db"))
    try {
      const changed = db
        .query("UPDATE kv_1_mvcc SET value = ? WHERE key = ?")
        .run(Buffer.from("corrupted"), Buffer.from("key7"))
      expect(changed.changes).toBe(1)
    } finally {
      db.close()
    }
    c.spawn(victim)

    const healthy = IDS.filter((id) => id !== victim)
    await waitFor("every node counts the divergence", async () =>
      (await Promise.all(IDS.map(divergences))).every((n) => n > 0),
    )
    // The corrupted node is the minority: it stops being ready; the others stay ready.
    await waitFor("the corrupted node fails readiness", async () => (await readyz(victim)).status === 503)
    const verbose = (await readyz(victim)).text
    expect(verbose).toContain("[-]no_divergence failed: STATE DIVERGENCE DETECTED in group 1")
    // The healthy nodes never suspect themselves (readiness may flicker for other reasons, such
    // as an election while the victim restarts, so it is awaited).
    for (const id of healthy) {
      await waitFor(`${id} is ready`, async () => (await readyz(id)).status === 200, 10_000).catch(
        async () => {
          throw new Error(`${id} is not ready:\n${(await readyz(id)).text}`)
        },
      )
      expect((await readyz(id)).text).toContain("[+]no_divergence ok")
    }

    // The error log names the nodes and the revision.
    const log = await c.logOf(healthy[0]!)
    const line = log.split("\n").find((l) => l.includes("STATE DIVERGENCE DETECTED"))
    expect(line).toBeDefined()
    expect(line).toContain(`${victim} has`)
    expect(line).toMatch(/at revision \d+/)
    expect(line).toMatch(/level=ERROR|"level":"error"/)

    const report = (await Bun.file(join(c.dataDir(victim), "divergence-report.json")).json()) as {
      node: string
      group: number
      revision: number
      suspect: boolean
      disagree: string[]
    }
    expect(report.node).toBe(victim)
    expect(report.group).toBe(1)
    expect(report.revision).toBeGreaterThanOrEqual(21)
    expect(report.suspect).toBe(true)
    expect([...report.disagree].sort()).toEqual(healthy.sort())
  }, 120_000)
})
