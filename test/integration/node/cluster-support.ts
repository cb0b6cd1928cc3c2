/** Test helpers: a 3-node in-process cluster on real SQLite files in a temp dir. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import type { KvCommand } from "../../../schemas/kv.ts"
import { LocalCluster, type LocalNodeSpec } from "../../../src/node/local-cluster.ts"
import type { NodeOptions } from "../../../src/node/options.ts"

export const testNodeOptions = (id: string, members: readonly string[], dir: string): NodeOptions => ({
  nodeId: id,
  clusterName: "test",
  members,
  dataDir: join(dir, id),
  synchronous: "FULL",
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 256,
  maxInflight: 64,
  batchSize: 128,
  batchTimeoutMs: 0,
  requestTimeoutMs: 3000,
  snapshotInterval: 10_000,
  keepEntries: 100,
  mailboxCapacity: 4096,
  clientUrls: {},
  peerUrls: {},
})

export interface TestCluster {
  readonly cluster: LocalCluster
  readonly dir: string
  cleanup(): Promise<void>
}

export const makeTestCluster = (
  n = 3,
  tweak: (o: NodeOptions) => NodeOptions = (o) => o,
  listeners?: (i: number) => LocalNodeSpec["listeners"],
): TestCluster => {
  const dir = mkdtempSync(join(tmpdir(), "lattice-node-"))
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`)
  const specs = ids.map((id, i) => {
    const l = listeners?.(i)
    return { options: tweak(testNodeOptions(id, ids, dir)), ...(l === undefined ? {} : { listeners: l }) }
  })
  const cluster = new LocalCluster(specs)
  return {
    cluster,
    dir,
    cleanup: async () => {
      await cluster.stopAll()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

export const putCommand = (key: string, value: string): KvCommand => ({
  type: "put",
  request: { key: enc(key), value: enc(value) },
})

/** Puts through `node`; resolves to the revision, or rejects with the failure. */
export const put = async (
  cluster: LocalCluster,
  node: string,
  key: string,
  value: string,
): Promise<number> => {
  const r = cluster.get(node)
  if (r === undefined) throw new Error(`${node} is not running`)
  const outcome = await Effect.runPromise(
    r.node.write(putCommand(key, value)).pipe(Effect.mapError((e) => new Error(e._tag))),
  )
  if (outcome === null || !outcome.ok || outcome.response.type !== "put") throw new Error("put failed")
  return outcome.response.response.header.revision
}

/** A linearizable get through `node`. */
export const getLinearizable = async (
  cluster: LocalCluster,
  node: string,
  key: string,
): Promise<string | null> => {
  const r = cluster.get(node)
  if (r === undefined) throw new Error(`${node} is not running`)
  const h = await Effect.runPromise(r.node.barrier().pipe(Effect.mapError((e) => new Error(e._tag))))
  const res = h.sm.range({ key: enc(key) })
  if (res instanceof Error) throw res
  return res.kvs.length === 0 ? null : dec(res.kvs[0]!.value)
}

/** Every key under `prefix`, read linearizably through `node` in one range. */
export const rangeLinearizable = async (
  cluster: LocalCluster,
  node: string,
  prefix: string,
): Promise<Map<string, string>> => {
  const r = cluster.get(node)
  if (r === undefined) throw new Error(`${node} is not running`)
  const h = await Effect.runPromise(r.node.barrier().pipe(Effect.mapError((e) => new Error(e._tag))))
  const end = enc(prefix)
  end[end.length - 1]! += 1
  const res = h.sm.range({ key: enc(prefix), rangeEnd: end })
  if (res instanceof Error) throw res
  return new Map(res.kvs.map((kv) => [dec(kv.key), dec(kv.value)]))
}
