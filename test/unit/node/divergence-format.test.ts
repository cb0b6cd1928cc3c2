/**
 * The divergence check across a change of hash format (a rolling upgrade): a peer whose reply has
 * another format is skipped with the reason, never counted as a divergence; a peer of the same
 * format with another hash still is.
 */
import { describe, expect } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { KV_HASH_FORMAT } from "../../../src/kv/hash.ts"
import { NodeMetrics } from "../../../src/metrics/node-metrics.ts"
import { DIVERGENCE_SERVICE, startDivergenceChecker } from "../../../src/node/divergence-check.ts"
import { makeInMemoryTransport } from "../../../src/transport/in-memory.ts"
import { InMemoryNetwork } from "../../../src/transport/in-memory-network.ts"
import { itEffect } from "../../support/effect-test.ts"
import { b, openFixture } from "../kv/helpers.ts"

const reply = (body: unknown) => () => Effect.succeed(new TextEncoder().encode(JSON.stringify(body)))

describe("divergence check", () => {
  itEffect("skips a peer of another hash format (mixed releases) and still flags a differing hash", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "lattice-divergence-"))
      const f = openFixture({}, dir)
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          f.close()
          rmSync(dir, { recursive: true, force: true })
        }),
      )
      f.ok({ type: "put", request: { key: b("k"), value: b("v") } })
      const network = new InMemoryNetwork()
      const n1 = yield* makeInMemoryTransport(network, "n1")
      const n2 = yield* makeInMemoryTransport(network, "n2")
      const n3 = yield* makeInMemoryTransport(network, "n3")
      const at = { revision: f.sm.revision, compactRevision: f.sm.compactRevision }
      // n2 runs the previous release: no format in its reply, and its hash is of format 1.
      yield* n2.serve(DIVERGENCE_SERVICE, reply({ ok: true, ...at, hash: 1 }))
      // n3 runs this release but holds other data.
      yield* n3.serve(DIVERGENCE_SERVICE, reply({ ok: true, format: KV_HASH_FORMAT, ...at, hash: 2 }))
      const checker = yield* startDivergenceChecker({
        nodeId: "n1",
        dataDir: dir,
        transport: n1,
        groups: [1],
        membersOf: () => ["n1", "n2", "n3"],
        hashDb: () => f.db,
        metrics: new NodeMetrics("n1"),
        intervalMs: 0,
        requestTimeoutMs: 5_000,
      })
      const [round] = yield* checker.checkNow
      expect(round!.skipped.n2).toBe(`hash format 1, here ${KV_HASH_FORMAT} (mixed lattice releases)`)
      expect(round!.disagree).toEqual(["n3"])
      expect(round!.agree).toEqual([])
      // One peer disagrees, none agrees: not a majority against this node.
      expect(round!.suspect).toBe(false)
    }),
  )
})
