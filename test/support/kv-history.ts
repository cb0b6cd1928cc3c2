/** The committed history of a node's KV group, read from its `kv-<group>.db` (for the watch validators). */
import { Database } from "bun:sqlite"
import type { CommittedEvent } from "./watch-validators.ts"

export const readCommittedHistory = (kvDbPath: string, group = 1, tenant = "default"): CommittedEvent[] => {
  const db = new Database(kvDbPath, { readonly: true })
  try {
    const rows = db
      .query(
        `SELECT r.key AS key, r.rev AS rev, r.version AS version, r.value AS value
         FROM kv_${group}_mvcc r JOIN kv_${group}_tenants t ON r.tenant = t.id
         WHERE t.name = ? ORDER BY r.rev, r.key`,
      )
      .all(tenant) as { key: Uint8Array; rev: number; version: number; value: Uint8Array }[]
    const td = new TextDecoder()
    return rows.map((r) => ({
      revision: Number(r.rev),
      type: Number(r.version) === 0 ? "delete" : "put",
      key: td.decode(r.key),
      value: td.decode(r.value),
    }))
  } finally {
    db.close()
  }
}

/**
 * The committed history once the node's file has stopped growing for `quietMs`. A node commits
 * its applies once a tick (the state machine's commit windows), so right after the last write the
 * file can be a tick behind what watchers were sent.
 */
export const readSettledHistory = async (
  kvDbPath: string,
  quietMs = 300,
  timeoutMs = 10_000,
): Promise<CommittedEvent[]> => {
  const deadline = performance.now() + timeoutMs
  let history = readCommittedHistory(kvDbPath)
  let since = performance.now()
  while (performance.now() < deadline) {
    await Bun.sleep(50)
    const next = readCommittedHistory(kvDbPath)
    if (next.at(-1)?.revision !== history.at(-1)?.revision) {
      history = next
      since = performance.now()
    } else if (performance.now() - since >= quietMs) return next
  }
  throw new Error(`${kvDbPath}: its history kept growing for ${timeoutMs} ms`)
}
