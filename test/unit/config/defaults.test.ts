import { describe, expect, test } from "bun:test"
import { Schema } from "effect"
import { LatticeConfigSchema } from "../../../schemas/config.ts"
import { clusterMembers, databasePath, synchronousMode } from "../../../src/config/resolve.ts"
import { loadOk } from "./support.ts"

describe("config defaults", () => {
  test("an empty document decodes to every section with its defaults", () => {
    const config = Schema.decodeUnknownSync(LatticeConfigSchema)({})
    expect(Object.keys(config).sort()).toEqual(
      [
        "admin",
        "cluster",
        "consensus",
        "limits",
        "listeners",
        "nats",
        "network",
        "node",
        "performance",
        "sharding",
        "storage",
        "telemetry",
        "tenants",
        "tls",
      ].sort(),
    )
    expect(config.admin).toEqual({
      drain_timeout_seconds: 30,
      leadership_transfer_timeout_seconds: 10,
      readiness_probe_interval_ms: 1000,
      cp_cache_ttl_seconds: 5,
      shutdown_grace_period_seconds: 5,
    })
    expect(config.listeners).toEqual({ etcd: "127.0.0.1:2379", http: "127.0.0.1:2378" })
    expect(config.telemetry.metrics_bind).toBe("127.0.0.1:9090")
    expect(config.storage.sync_on_write).toBe(true)
    expect(config.limits.max_txn_ops).toBe(128)
    expect(config.nats.urls).toEqual(["nats://127.0.0.1:4222"])
    expect(config.node.id).toBe("n1")
    expect(config.tls).toEqual({})
  })

  test("a section given in part keeps the defaults of the keys left out", () => {
    const config = Schema.decodeUnknownSync(LatticeConfigSchema)({ admin: { drain_timeout_seconds: 60 } })
    expect(config.admin).toEqual({
      drain_timeout_seconds: 60,
      leadership_transfer_timeout_seconds: 10,
      readiness_probe_interval_ms: 1000,
      cp_cache_ttl_seconds: 5,
      shutdown_grace_period_seconds: 5,
    })
  })

  test("the loader resolves data_dir to data/<node.id> under the working directory", async () => {
    const { config } = await loadOk({ env: { LATTICE_NODE_ID: "n7" }, cwd: "/srv/lattice" })
    expect(config.node.data_dir).toBe("/srv/lattice/data/n7")
    expect(databasePath(config)).toBe("/srv/lattice/data/n7/lattice.db")
  })

  test("sync_on_write maps to SQLite synchronous FULL, and false to NORMAL", async () => {
    const on = await loadOk({})
    const off = await loadOk({ env: { LATTICE_STORAGE__SYNC_ON_WRITE: "false" } })
    expect(synchronousMode(on.config)).toBe("FULL")
    expect(synchronousMode(off.config)).toBe("NORMAL")
  })

  test("a node with no members or peers is a cluster of one", async () => {
    const { config } = await loadOk({ env: { LATTICE_NODE_ID: "solo" } })
    expect(clusterMembers(config)).toEqual([{ id: "solo", role: "voter" }])
  })
})
