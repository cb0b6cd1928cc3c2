import { afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { damonMonitors, damonWarning } from "../../../bench/etcd-compare/lib/machine.ts"

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A sysfs-like kdamonds directory with one monitor per entry. */
const fakeAdmin = (monitors: { state: string; operations: string; sampleUs: number }[]): string => {
  const admin = mkdtempSync(join(tmpdir(), "damon-admin-"))
  dirs.push(admin)
  writeFileSync(join(admin, "nr_kdamonds"), `${monitors.length}\n`)
  monitors.forEach((m, i) => {
    const intervals = join(admin, String(i), "contexts/0/monitoring_attrs/intervals")
    mkdirSync(intervals, { recursive: true })
    writeFileSync(join(admin, String(i), "state"), `${m.state}\n`)
    writeFileSync(join(admin, String(i), "contexts/0/operations"), `${m.operations}\n`)
    writeFileSync(join(intervals, "sample_us"), `${m.sampleUs}\n`)
  })
  return admin
}

describe("the benchmark's machine notes", () => {
  test("reads each monitor's state, operations and sampling interval", () => {
    const admin = fakeAdmin([
      { state: "on", operations: "paddr", sampleUs: 500_000 },
      { state: "off", operations: "vaddr", sampleUs: 5_000 },
    ])
    expect(damonMonitors(admin)).toEqual([
      { state: "on", operations: "paddr", sampleMs: 500 },
      { state: "off", operations: "vaddr", sampleMs: 5 },
    ])
  })

  test("no DAMON directory means no monitors and no note", () => {
    expect(damonMonitors(join(tmpdir(), "no-such-damon-dir"))).toEqual([])
    expect(damonWarning([])).toBeNull()
  })

  test("warns only about running monitors, each kind once", () => {
    expect(damonWarning([{ state: "off", operations: "paddr", sampleMs: 500 }])).toBeNull()
    const on = { state: "on", operations: "paddr", sampleMs: 500 }
    const note = damonWarning([on, on])
    expect(note).toContain("(paddr, sampling every 500 ms)")
    expect(note).toContain("p99")
  })
})
