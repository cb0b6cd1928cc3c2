/**
 * Failover: while a writer issues puts on a fixed schedule over all endpoints, kill -9 the leader
 * and time from the kill until the first acknowledged put that was issued after the kill.
 * Then restart the node on its old data dir and wait for the cluster to be whole again.
 */
import type { ClusterClient } from "../../../src/bench/client.ts"
import { type Cluster, findLeader, waitReady } from "./cluster.ts"

export interface FailoverRound {
  readonly killedNode: number
  /** Set when the round could not complete (no leader, or the cluster did not heal after it). */
  readonly error?: string
  /** ms from SIGKILL to the first ack of a put issued after it; null when none came in time. */
  readonly failoverMs: number | null
  /** Wall-clock time of the kill (ISO), to line up with the nodes' logs. */
  readonly killedAt?: string
}

const WRITE_INTERVAL_MS = 5
const WRITE_TIMEOUT_MS = 2000
const ROUND_LIMIT_MS = 15_000
const MAX_IN_FLIGHT = 500

const waitLeader = async (client: ClusterClient): Promise<number> => {
  const deadline = performance.now() + 20_000
  while (performance.now() < deadline) {
    const leader = await findLeader(client)
    if (leader >= 0) return leader
    await Bun.sleep(100)
  }
  throw new Error("no leader within 20 s")
}

const oneRound = async (
  cluster: Cluster,
  client: ClusterClient,
  value: Uint8Array,
): Promise<FailoverRound> => {
  const leader = await waitLeader(client)
  let killAt = Number.POSITIVE_INFINITY
  let firstAckAfterKill: number | null = null
  let inFlight = 0
  let slot = 0
  let stop = false
  const pending: Promise<void>[] = []
  const writer = async () => {
    while (!stop) {
      if (inFlight < MAX_IN_FLIGHT) {
        const issuedAt = performance.now()
        inFlight++
        const key = Buffer.from(`bench/failover/${slot++ % 1000}`)
        pending.push(
          client
            .pick()
            .put({ key, value }, WRITE_TIMEOUT_MS)
            .then(
              () => {
                const now = performance.now()
                if (issuedAt >= killAt && firstAckAfterKill === null) firstAckAfterKill = now
              },
              () => {},
            )
            .finally(() => {
              inFlight--
            }),
        )
      }
      await Bun.sleep(WRITE_INTERVAL_MS)
    }
  }
  const writing = writer()
  await Bun.sleep(1000)
  killAt = performance.now()
  const killedAt = new Date().toISOString()
  await cluster.crash(leader)
  const deadline = killAt + ROUND_LIMIT_MS
  while (firstAckAfterKill === null && performance.now() < deadline) await Bun.sleep(5)
  stop = true
  await writing
  await Promise.all(pending)
  const acked = firstAckAfterKill as number | null
  const failoverMs = acked === null ? null : acked - killAt
  try {
    await cluster.restart(leader)
    await waitReady(client, `${cluster.system} after restarting node ${leader}`)
  } catch (error) {
    return { killedNode: leader, failoverMs, killedAt, error: String(error) }
  }
  // Let the restarted node catch up before the next round picks a leader.
  await Bun.sleep(1000)
  return { killedNode: leader, failoverMs, killedAt }
}

export const measureFailover = async (
  cluster: Cluster,
  client: ClusterClient,
  rounds: number,
  value: Uint8Array,
): Promise<FailoverRound[]> => {
  const results: FailoverRound[] = []
  for (let i = 0; i < rounds; i++) {
    try {
      const round = await oneRound(cluster, client, value)
      results.push(round)
      if (round.error !== undefined) break
    } catch (error) {
      // The cluster is not whole any more, so later rounds would measure something else.
      results.push({ killedNode: -1, failoverMs: null, error: String(error) })
      break
    }
  }
  return results
}
