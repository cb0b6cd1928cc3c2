/** The key catalog mirrors the schema, and docs/configuration.md documents every key. */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { configCatalog, type KeySpec, leafKeys, siblingNames, specAt } from "../../../src/config/catalog.ts"
import { withCurrentReference } from "../../../src/config/docs-reference.ts"
import { envNamesFor } from "../../../src/config/env-names.ts"

const normalizeTables = (markdown: string): string =>
  markdown
    .split("\n")
    .map((line) =>
      line.startsWith("|")
        ? line
            .split("|")
            .map((c) => c.trim().replace(/^-+$/, "---"))
            .join("|")
        : line,
    )
    .join("\n")

describe("config catalog", () => {
  test("sections come in schema order and every key has a description", () => {
    expect(configCatalog.map((s) => s.path[0])).toEqual([
      "node",
      "cluster",
      "listeners",
      "nats",
      "storage",
      "consensus",
      "performance",
      "network",
      "admin",
      "telemetry",
      "limits",
      "tls",
      "tenants",
      "sharding",
    ])
    for (const spec of [...configCatalog, ...leafKeys()]) expect(spec.doc.length).toBeGreaterThan(5)
  })

  test("kinds and labels follow the schema", () => {
    expect(specAt(["storage", "sync_on_write"])?.kind).toBe("boolean")
    expect(specAt(["consensus", "tick_ms"])?.kind).toBe("number")
    expect(specAt(["nats", "urls"])?.kind).toBe("list")
    expect(specAt(["cluster", "peers"])?.kind).toBe("table-list")
    expect(specAt(["cluster", "peers", 0, "address"])?.typeLabel).toBe("host:port")
    expect(specAt(["tls", "etcd"])?.kind).toBe("table")
    expect(specAt(["storage", "nope"])).toBeUndefined()
    expect(siblingNames(["admin", "x"])).toEqual([
      "drain_timeout_seconds",
      "leadership_transfer_timeout_seconds",
      "readiness_probe_interval_ms",
      "cp_cache_ttl_seconds",
      "shutdown_grace_period_seconds",
    ])
  })

  test("docs/configuration.md carries the current generated reference, naming every key and env var", () => {
    const docs = readFileSync(join(import.meta.dir, "../../../docs/configuration.md"), "utf8")
    // Out of date? Run: bun src/config/docs-reference.ts --write
    // Biome formats Markdown (it pads table cells), so compare with table padding removed.
    expect(normalizeTables(withCurrentReference(docs))).toBe(normalizeTables(docs))
    const missing: string[] = []
    const visit = (specs: ReadonlyArray<KeySpec>, envAllowed: boolean) => {
      for (const spec of specs) {
        const name = spec.kind === "table" ? `[${spec.path.join(".")}]` : spec.path.join(".")
        if (!docs.includes(`\`${name}\``)) missing.push(name)
        if (envAllowed && spec.kind !== "table-list" && spec.kind !== "table")
          for (const env of envNamesFor(spec.path)) if (!docs.includes(env)) missing.push(env)
        visit(spec.children, envAllowed && spec.kind !== "table-list")
      }
    }
    visit(configCatalog, true)
    expect(missing).toEqual([])
  })
})
