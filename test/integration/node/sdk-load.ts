/**
 * Client load for process tests: SDK clients (default retry policy) looping over puts and
 * linearizable gets on shared registers plus a unique key per put, recording a history for the
 * linearizability checker; and the check afterwards that nothing acknowledged was lost.
 */
import { expect } from "bun:test"
import { connect } from "../../../src/sdk/index.ts"
import { checkKvHistory, type KvOperation } from "../../support/linearizability-kv.ts"

export interface Load {
  readonly history: KvOperation[]
  readonly failures: string[]
  readonly acked: Map<string, string>
  stop(): Promise<void>
}

/** `clients` SDK clients, each looping over put / linearizable get on a few shared keys, plus a unique key per put. */
export const startLoad = (endpoints: readonly string[], clients: number): Load => {
  const history: KvOperation[] = []
  const failures: string[] = []
  const acked = new Map<string, string>()
  let stop = false
  let opId = 0
  const t0 = performance.now()
  const now = () => performance.now() - t0
  const loops = Array.from({ length: clients }, async (_, c) => {
    // Each client lists the endpoints in a different order, as load balancers spread clients.
    const client = connect({
      endpoints: [...endpoints.slice(c % endpoints.length), ...endpoints.slice(0, c % endpoints.length)],
    })
    let n = 0
    try {
      while (!stop) {
        const key = `reg${(c + n) % 4}`
        const write = n % 2 === 0
        const value = `c${c}-${n}`
        const call = now()
        try {
          if (write) {
            await client.put(key, value)
            history.push({
              id: opId++,
              client: c,
              input: { op: "write", key, value },
              output: { op: "write" },
              call,
              ret: now(),
            })
            await client.put(`u/${value}`, value)
            acked.set(`u/${value}`, value)
          } else {
            const res = await client.get(key)
            const got = res.kvs[0] === undefined ? null : new TextDecoder().decode(res.kvs[0].value)
            history.push({
              id: opId++,
              client: c,
              input: { op: "read", key },
              output: { op: "read", value: got },
              call,
              ret: now(),
            })
          }
        } catch (e) {
          failures.push(`client ${c} ${write ? `put ${key}=${value}` : `get ${key}`}: ${String(e)}`)
          // The outcome of a failed write is unknown: it may or may not have happened.
          if (write)
            history.push({
              id: opId++,
              client: c,
              input: { op: "write", key, value },
              output: null,
              call,
              ret: Infinity,
            })
        }
        n++
      }
    } finally {
      client.close()
    }
  })
  return {
    history,
    failures,
    acked,
    stop: async () => {
      stop = true
      await Promise.all(loops)
    },
  }
}

/**
 * Every acknowledged unique write is readable (linearizably) through `endpoints`, and the
 * history, closed by a final read of each register, is linearizable.
 */
export const expectNoLostWrites = async (load: Load, endpoints: readonly string[]): Promise<void> => {
  // Zero lost acknowledged writes: each is readable, linearizably, afterwards.
  const reader = connect({ endpoints })
  try {
    const res = await reader.get("u/", { prefix: true })
    const got = new Map(
      res.kvs.map((kv) => [new TextDecoder().decode(kv.key), new TextDecoder().decode(kv.value)]),
    )
    const lost = [...load.acked].filter(([k, v]) => got.get(k) !== v).map(([k]) => k)
    expect(lost).toEqual([])
    // The final reads join the history, so a lost register write is caught by the checker too.
    const t = performance.now()
    for (let k = 0; k < 4; k++) {
      const r = await reader.get(`reg${k}`)
      const value = r.kvs[0] === undefined ? null : new TextDecoder().decode(r.kvs[0].value)
      load.history.push({
        id: load.history.length + 1_000_000,
        client: 99,
        input: { op: "read", key: `reg${k}` },
        output: { op: "read", value },
        call: t + 1e9,
        ret: t + 1e9 + 1,
      })
    }
  } finally {
    reader.close()
  }
  expect(checkKvHistory(load.history)).toEqual({ kind: "ok" })
}
