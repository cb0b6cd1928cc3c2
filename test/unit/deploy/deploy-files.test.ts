/**
 * The operator files in deploy/: the Prometheus rules load and their unit tests pass under
 * promtool (skipped only when promtool is not installed: Debian's `prometheus` package has it),
 * the Grafana dashboard has the fields Grafana's dashboard schema requires, and every metric the
 * rules and the dashboard use is documented in docs/metrics.md (which the live scrape test checks
 * against what nodes export).
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { deployMetrics, documentedMetrics } from "../../integration/metrics/support.ts"

const ROOT = join(import.meta.dir, "../../..")
const promtool = Bun.which("promtool")

const run = (args: string[]) => {
  const r = Bun.spawnSync([promtool!, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" })
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() }
}

describe("deploy/prometheus", () => {
  test.skipIf(promtool === null)("promtool check rules: the alert rules load", () => {
    const r = run(["check", "rules", "deploy/prometheus/alerts.yml"])
    expect(r.out).toContain("SUCCESS: 12 rules found")
    expect(r.code).toBe(0)
  })

  test.skipIf(promtool === null)(
    "promtool test rules: the alerts fire on the series they are meant for",
    () => {
      const r = run(["test", "rules", "deploy/prometheus/alerts.test.yml"])
      expect(r.out).toContain("SUCCESS")
      expect(r.code).toBe(0)
    },
  )

  test.skipIf(promtool === null)("promtool check config: the example scrape configuration is valid", () => {
    const r = run(["check", "config", "deploy/prometheus/prometheus.yml"])
    expect(r.code).toBe(0)
  })

  test("the rules cover both families of the seeds' alerts", () => {
    const text = readFileSync(join(ROOT, "deploy/prometheus/alerts.yml"), "utf8")
    const names = [...text.matchAll(/- alert: (\S+)/g)].map((m) => m[1])
    expect(names.sort()).toEqual(
      [
        "LatticeNodeDown",
        "LatticeLostQuorum",
        "LatticeStateDivergence",
        "LatticeHighLatency",
        "ClusterQuorumLost",
        "LeaderUnavailable",
        "LINBOUNDFailures",
        "ReplicationLag",
        "CPCacheStale",
        "ClusterNoLeader",
        "ClusterUnhealthy",
        "HighFailoverRate",
      ].sort(),
    )
  })
})

interface Panel {
  id: number
  type: string
  title: string
  gridPos: { h: number; w: number; x: number; y: number }
  targets?: { refId: string; expr: string }[]
  datasource?: { type: string; uid: string }
}

describe("deploy/grafana/lattice.json", () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/lattice.json"), "utf8")) as {
    uid: string
    title: string
    schemaVersion: number
    version: number
    panels: Panel[]
    templating: { list: { name: string; type: string }[] }
    time: { from: string; to: string }
  }

  test("has the top-level fields of Grafana's dashboard schema", () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/)
    expect(dashboard.title).toBe("Lattice")
    expect(Number.isInteger(dashboard.schemaVersion)).toBe(true)
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(Number.isInteger(dashboard.version)).toBe(true)
    expect(dashboard.time).toEqual({ from: "now-1h", to: "now" })
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: "datasource", type: "datasource" }),
    )
  })

  test("every panel has a unique id, a known type, a grid position inside 24 columns and targets", () => {
    const ids = new Set<number>()
    for (const p of dashboard.panels) {
      expect(ids.has(p.id)).toBe(false)
      ids.add(p.id)
      expect(["row", "timeseries", "stat", "gauge", "table"]).toContain(p.type)
      expect(p.title.length).toBeGreaterThan(0)
      const g = p.gridPos
      for (const v of [g.h, g.w, g.x, g.y]) expect(Number.isInteger(v) && v >= 0).toBe(true)
      expect(g.x + g.w).toBeLessThanOrEqual(24)
      if (p.type === "row") continue
      // Grafana's template variable, literally.
      expect(p.datasource).toEqual({ type: "prometheus", uid: ["$", "{datasource}"].join("") })
      expect(p.targets!.length).toBeGreaterThan(0)
      const refIds = p.targets!.map((t) => t.refId)
      expect(new Set(refIds).size).toBe(refIds.length)
      for (const t of p.targets!) expect(t.expr.length).toBeGreaterThan(0)
    }
  })

  test("panels do not overlap", () => {
    const cells = new Set<string>()
    for (const p of dashboard.panels) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++)
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          const key = `${x},${y}`
          expect({ panel: p.title, cell: key, taken: cells.has(key) }).toEqual({
            panel: p.title,
            cell: key,
            taken: false,
          })
          cells.add(key)
        }
    }
  })

  test("has the seeds' sections: cluster health, request performance, capacity", () => {
    const rows = dashboard.panels.filter((p) => p.type === "row").map((p) => p.title)
    expect(rows).toEqual(["Cluster health", "Request performance", "Capacity"])
    const titles = dashboard.panels.map((p) => p.title)
    for (const t of [
      "Leader status per node",
      "Replication lag per follower",
      "CP cache state",
      "Active watches",
      "Active leases",
      "Request rate by operation",
      "Request latency percentiles",
      "Error rates",
      "Active connections",
      "WAL segments",
    ])
      expect(titles).toContain(t)
  })
})

test("every metric the rules and the dashboard use is documented in docs/metrics.md", async () => {
  const documented = new Set(documentedMetrics(readFileSync(join(ROOT, "docs/metrics.md"), "utf8")))
  const { rules, dashboard } = await deployMetrics()
  expect(rules.length).toBeGreaterThan(8)
  expect(dashboard.length).toBeGreaterThan(20)
  expect(rules.filter((n) => !documented.has(n))).toEqual([])
  expect(dashboard.filter((n) => !documented.has(n))).toEqual([])
})
