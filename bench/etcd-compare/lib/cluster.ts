/** What the benchmark needs from a running 3-node cluster, whichever system it is. */
import type { ClusterClient } from "../../../src/bench/client.ts"

export interface Cluster {
  readonly system: "etcd" | "lattice"
  /** gRPC host:port of each node, in node order. */
  readonly endpoints: readonly string[]
  /** kill -9 node `index`. */
  readonly crash: (index: number) => Promise<void>
  /** Start node `index` again on its old data dir and ports. */
  readonly restart: (index: number) => Promise<void>
  readonly stop: () => Promise<void>
}

const sleep = (ms: number) => Bun.sleep(ms)

/**
 * The index of the node every live endpoint agrees is leader (via Maintenance.Status: the node
 * whose header.member_id equals the reported leader), or -1 if there is none yet.
 */
export const findLeader = async (client: ClusterClient): Promise<number> => {
  const statuses = await Promise.all(client.endpoints.map((e) => e.status(500).catch(() => null)))
  const leaders = new Set(
    statuses.flatMap((s) => (s && s.leader !== undefined && s.leader !== 0n ? [s.leader] : [])),
  )
  if (leaders.size !== 1) return -1
  const [leader] = leaders
  return statuses.findIndex((s) => s?.header?.memberId === leader)
}

/** Waits (bounded) until a leader is known and a put through every live endpoint is acknowledged. */
export const waitReady = async (
  client: ClusterClient,
  what: string,
  timeoutMs = 30_000,
  down: ReadonlySet<number> = new Set(),
): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  let lastError: unknown = null
  while (performance.now() < deadline) {
    try {
      if ((await findLeader(client)) >= 0) {
        const live = client.endpoints.filter((_, i) => !down.has(i))
        await Promise.all(
          live.map((e) => e.put({ key: Buffer.from("bench/ready"), value: Buffer.from("1") }, 2000)),
        )
        return
      }
    } catch (error) {
      lastError = error
    }
    await sleep(100)
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms: ${String(lastError)}`)
}
