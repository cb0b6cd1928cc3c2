/** Test helpers: scrape a Prometheus endpoint, parse the text exposition, read docs/metrics.md. */
import { expect } from "bun:test"

export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export const scrape = async (url: string): Promise<string> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`)
  return await res.text()
}

const parseLabels = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!
  return out
}

/** Family name (from `# TYPE`) → its samples (histogram `_bucket`/`_sum`/`_count` included). */
export const parseExposition = (text: string): Map<string, PromSample[]> => {
  const families = new Map<string, PromSample[]>()
  let current: PromSample[] | null = null
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line)
    if (type !== null) {
      current = []
      families.set(type[1]!, current)
      continue
    }
    if (line.startsWith("#") || line.trim() === "") continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (m === null || current === null) continue
    current.push({ name: m[1]!, labels: parseLabels(m[2] ?? ""), value: Number(m[3]) })
  }
  return families
}

/** The sum of the samples named `name` whose labels include `labels`. */
export const sampleValue = (
  families: Map<string, PromSample[]>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number => {
  let sum = 0
  for (const samples of families.values())
    for (const s of samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value
  return sum
}

/**
 * A survivor of a leader's death counted it: between the two scrapes its elections, failovers
 * and term (of the group with `labels`) all went up.
 */
export const expectElectionCounted = (
  before: Map<string, PromSample[]>,
  after: Map<string, PromSample[]>,
  labels: Readonly<Record<string, string>>,
): void => {
  for (const name of ["cluster_elections_total", "cluster_failovers_total", "cluster_current_term"]) {
    const was = sampleValue(before, name, labels)
    const is = sampleValue(after, name, labels)
    // The object names the metric in a failure message.
    expect({ name, was, is, wentUp: is > was }).toMatchObject({ name, wentUp: true })
  }
}

/** Every metric name in the first column of docs/metrics.md's tables (`` `name` ``). */
export const documentedMetrics = (markdown: string): string[] => {
  const names = new Set<string>()
  for (const line of markdown.split("\n")) {
    const m = /^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|/.exec(line)
    if (m !== null) names.add(m[1]!)
  }
  return [...names]
}

/** Metric names used by PromQL in `text` (alert rules, dashboard JSON); histogram series map to their family. */
export const referencedMetrics = (text: string): string[] => {
  const names = new Set<string>()
  for (const m of text.matchAll(/\b((?:cluster|lattice|process|nodejs)_[a-z0-9_]+)/g))
    names.add(m[1]!.replace(/_(bucket|sum|count)$/, ""))
  return [...names]
}

const ROOT = new URL("../../../", import.meta.url).pathname

/** The alert rules' and the dashboard's metric names. */
export const deployMetrics = async (): Promise<{ rules: string[]; dashboard: string[] }> => {
  const rules = (await Bun.file(`${ROOT}deploy/prometheus/alerts.yml`).text())
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("#"))
    .join("\n")
  const dashboard = (await Bun.file(`${ROOT}deploy/grafana/lattice.json`).json()) as {
    panels: { targets?: { expr: string }[] }[]
  }
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join("\n")
  return { rules: referencedMetrics(rules), dashboard: referencedMetrics(exprs) }
}
