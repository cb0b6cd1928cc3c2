/**
 * Configurations for `lattice dev`: N nodes on one machine, each with its own data directory and
 * ports, all members of one cluster. Node i (0-based) uses etcd 2379+100i, http 2378+100i and
 * metrics 9090+i, so the first node keeps the usual ports.
 */
import { join } from "node:path"
import type { Overrides } from "./overrides.ts"

export interface DevNodeOverrides {
  readonly nodeId: string
  readonly overrides: Overrides
}

export const devNodeIds = (count: number): string[] => Array.from({ length: count }, (_, i) => `n${i + 1}`)

export const devNodeOverrides = (count: number, baseDataDir: string): DevNodeOverrides[] => {
  const ids = devNodeIds(count)
  return ids.map((nodeId, i) => ({
    nodeId,
    overrides: {
      issues: [],
      overrides: [
        { path: ["node", "id"], value: nodeId, source: "lattice dev" },
        { path: ["node", "data_dir"], value: join(baseDataDir, nodeId), source: "lattice dev" },
        { path: ["cluster", "members"], value: ids, source: "lattice dev" },
        { path: ["listeners", "etcd"], value: `127.0.0.1:${2379 + 100 * i}`, source: "lattice dev" },
        { path: ["listeners", "http"], value: `127.0.0.1:${2378 + 100 * i}`, source: "lattice dev" },
        { path: ["telemetry", "metrics_bind"], value: `127.0.0.1:${9090 + i}`, source: "lattice dev" },
      ],
    },
  }))
}
