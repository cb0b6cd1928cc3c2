/** A real 3-node etcd 3.4 cluster on loopback: one process per node, default fsync settings. */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Cluster } from "./cluster.ts"
import { freePorts, LOOPBACK } from "./ports.ts"
import { type Child, spawnChild } from "./processes.ts"

export const ETCD_BINARY = "/usr/bin/etcd"

export const startEtcdCluster = async (baseDir: string, size = 3): Promise<Cluster> => {
  const ports = await freePorts(size * 2)
  const names = Array.from({ length: size }, (_, i) => `e${i + 1}`)
  const clientPort = (i: number) => ports[i * 2] as number
  const peerPort = (i: number) => ports[i * 2 + 1] as number
  const initialCluster = names.map((n, i) => `${n}=http://${LOOPBACK}:${peerPort(i)}`).join(",")
  const command = (i: number) => [
    ETCD_BINARY,
    "--name",
    names[i] as string,
    "--data-dir",
    join(baseDir, names[i] as string),
    "--listen-client-urls",
    `http://${LOOPBACK}:${clientPort(i)}`,
    "--advertise-client-urls",
    `http://${LOOPBACK}:${clientPort(i)}`,
    "--listen-peer-urls",
    `http://${LOOPBACK}:${peerPort(i)}`,
    "--initial-advertise-peer-urls",
    `http://${LOOPBACK}:${peerPort(i)}`,
    "--initial-cluster",
    initialCluster,
    "--initial-cluster-token",
    "bench-etcd",
    "--initial-cluster-state",
    "new",
    "--log-level",
    "warn",
  ]
  mkdirSync(baseDir, { recursive: true })
  const nodes: (Child | null)[] = names.map(() => null)
  const launch = (i: number) => {
    nodes[i] = spawnChild(names[i] as string, command(i), join(baseDir, `${names[i]}.log`))
  }
  for (let i = 0; i < names.length; i++) launch(i)
  return {
    system: "etcd",
    endpoints: names.map((_, i) => `${LOOPBACK}:${clientPort(i)}`),
    crash: async (i) => {
      await nodes[i]?.kill9()
    },
    restart: async (i) => launch(i),
    stop: async () => {
      await Promise.all(nodes.map((n) => n?.kill9()))
    },
  }
}
