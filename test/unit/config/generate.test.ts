/** `config generate` output is valid TOML that decodes back to the configuration it was made from. */
import { describe, expect, test } from "bun:test"
import { Schema } from "effect"
import fc from "fast-check"
import { parse } from "smol-toml"
import { LatticeConfigSchema } from "../../../schemas/config.ts"
import { leafKeys } from "../../../src/config/catalog.ts"
import { genericEnvName } from "../../../src/config/env-names.ts"
import { generateToml } from "../../../src/config/generate.ts"
import { loadOk, writeToml } from "./support.ts"

const decode = Schema.decodeUnknownSync(LatticeConfigSchema, { onExcessProperty: "error" })

const roundTrip = (input: unknown) => {
  const config = decode(input)
  const text = generateToml(config)
  return { config, text, back: decode(parse(text)) }
}

describe("config generate", () => {
  test("the defaults round-trip", () => {
    const { config, back } = roundTrip({})
    expect(back).toEqual(config)
  })

  test("every leaf key appears with its doc text and env var name", () => {
    const { text } = roundTrip({})
    for (const spec of leafKeys()) {
      const name = spec.path[spec.path.length - 1]!
      if (spec.kind === "table-list") expect(text).toContain(`[[${spec.path.join(".")}]]`)
      else if (spec.path.length === 2) {
        expect(text).toMatch(new RegExp(`^#? ?${name} = `, "m"))
        expect(text).toContain(genericEnvName(spec.path))
      }
      if (spec.path.length === 2) expect(text).toContain(spec.doc.split(" ").slice(0, 3).join(" "))
    }
  })

  test("peers, tenants and TLS blocks round-trip", () => {
    const { config, back, text } = roundTrip({
      node: { id: 4, data_dir: "/var/lib/lattice/node-4" },
      cluster: {
        members: ["1", "2"],
        peers: [
          { id: "1", address: "10.0.1.10:2378" },
          { id: 4, address: "10.0.1.13:2378", role: "learner" },
        ],
      },
      tls: {
        etcd: { cert_file: "/e.crt", key_file: "/e.key", client_auth: true },
        nats: { ca_file: "/ca.crt" },
      },
      tenants: { bootstrap: [{ name: "a" }, { name: "b", quota_bytes: 10 }] },
      listeners: { redis: "127.0.0.1:6379" },
    })
    expect(back).toEqual(config)
    expect(text).toContain('id = "4"')
    expect(text).toContain("[tls.etcd]")
    expect(text).toContain("# [tls.http]")
  })

  test("the generated file passes the loader (as `config validate` does)", async () => {
    const text = roundTrip({ node: { id: "n2" }, cluster: { members: ["n1", "n2", "n3"] } }).text
    const { config } = await loadOk({ file: writeToml(text), env: {} })
    expect(config.node.id).toBe("n2")
    expect(config.cluster.members).toEqual(["n1", "n2", "n3"])
  })

  test("random scalar settings round-trip", () => {
    const runs = Number(process.env.LATTICE_CONFIG_FUZZ_RUNS ?? 50)
    fc.assert(
      fc.property(
        fc.record({
          id: fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,10}$/),
          sync: fc.boolean(),
          batch: fc.integer({ min: 1, max: 1_000_000 }),
          timeout: fc.integer({ min: 0, max: 1000 }),
          port: fc.integer({ min: 1, max: 65535 }),
          level: fc.constantFrom("debug", "info", "warn", "error"),
          prefix: fc.string({ minLength: 1, maxLength: 12 }),
        }),
        (r) => {
          const { config, back } = roundTrip({
            node: { id: r.id },
            storage: { sync_on_write: r.sync },
            performance: { batch_size: r.batch, batch_timeout_ms: r.timeout },
            listeners: { etcd: `10.0.0.1:${r.port}` },
            telemetry: { log_level: r.level },
            nats: { subject_prefix: r.prefix },
          })
          expect(back).toEqual(config)
        },
      ),
      { numRuns: runs, seed: 5 },
    )
  })
})
