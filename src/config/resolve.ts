/**
 * The configuration a node runs with: the decoded config with `node.data_dir` resolved to an
 * absolute path, and the values derived from it that other parts need.
 */
import { isAbsolute, join, resolve } from "node:path"
import type { LatticeConfig, Peer } from "../../schemas/config.ts"
import type { SynchronousMode } from "../storage/driver.ts"

export type NodeConfig = Omit<LatticeConfig, "node"> & {
  readonly node: { readonly id: string; readonly data_dir: string }
}

export const resolveConfig = (config: LatticeConfig, cwd: string): NodeConfig => {
  const dataDir = config.node.data_dir ?? join("data", config.node.id)
  return {
    ...config,
    node: { id: config.node.id, data_dir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir) },
  }
}

/** `[storage] sync_on_write` as the SQLite synchronous mode the storage layer must read back. */
export const synchronousMode = (config: Pick<LatticeConfig, "storage">): SynchronousMode =>
  config.storage.sync_on_write ? "FULL" : "NORMAL"

export const databasePath = (config: NodeConfig): string => join(config.node.data_dir, config.storage.db_file)
export const snapshotDirectory = (config: NodeConfig): string =>
  join(config.node.data_dir, config.storage.snapshot_dir)

/**
 * The bootstrap membership: `cluster.members` (voters) merged with `cluster.peers` by id, in
 * first-seen order; a node alone when both are empty.
 */
export const clusterMembers = (config: Pick<LatticeConfig, "cluster" | "node">): ReadonlyArray<Peer> => {
  const byId = new Map<string, Peer>()
  for (const id of config.cluster.members) byId.set(id, { id, role: "voter" })
  for (const peer of config.cluster.peers) byId.set(peer.id, peer)
  if (byId.size === 0) byId.set(config.node.id, { id: config.node.id, role: "voter" })
  return [...byId.values()]
}
