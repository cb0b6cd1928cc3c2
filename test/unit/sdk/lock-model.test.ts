/**
 * Lock model check (fast-check): clients lock, unlock, crash (abandon their lease) and lose
 * their lease to expiry at random. Whatever happens:
 *  - at the revision each grant was made, the granted key was the oldest under the lock's
 *    prefix, with the granted fencing token as its creation revision: one holder at a time;
 *  - fencing tokens strictly increase in grant order;
 *  - fenced writes (txn guarded by `owns()`) land with non-decreasing tokens, and a holder whose
 *    lease expired can no longer write.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import {
  connect,
  type LatticeClient,
  type LockHandle,
  lock,
  type Session,
  session,
  text,
} from "../../../src/sdk/index.ts"
import { startMemoryServers } from "./support.ts"

const te = new TextEncoder()
const PREFIX = te.encode("model/")
const PREFIX_END = te.encode("model0")
const RESOURCE = te.encode("resource")

interface Actor {
  client: LatticeClient
  session?: Session
  handle?: LockHandle
  waiting?: Promise<void>
  abort?: AbortController
}

type Op = { op: "lock" | "unlock" | "crash" | "expire" | "write"; who: number }

const opArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constantFrom("lock", "lock", "unlock", "crash", "expire", "write"),
  who: fc.integer({ min: 0, max: 2 }),
})

test("lock model: one holder at a time, strictly increasing fencing tokens, fenced writes", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 24 }), async (ops) => {
      const s = await startMemoryServers(1)
      const newClient = () =>
        connect({
          endpoints: s.endpoints,
          retry: { initialBackoffMs: 2, maxBackoffMs: 10, attemptTimeoutMs: 2000 },
        })
      const actors: Actor[] = [0, 1, 2].map(() => ({ client: newClient() }))
      const leases: bigint[] = []
      const grants: { token: bigint; at: bigint; key: string }[] = []
      const writes: { token: bigint; rev: bigint }[] = []
      const fencedWrite = async (a: Actor) => {
        const h = a.handle
        if (h === undefined) return
        const r = await a.client
          .txn({
            compare: [h.owns()],
            success: [{ requestPut: { key: RESOURCE, value: te.encode(String(h.fencingToken)) } }],
          })
          .catch(() => undefined)
        if (r?.succeeded) writes.push({ token: h.fencingToken, rev: r.header!.revision! })
      }
      try {
        for (const { op, who } of ops) {
          const a = actors[who]!
          switch (op) {
            case "lock": {
              if (a.waiting !== undefined || a.handle !== undefined) break
              const sess = await session(a.client, { ttl: 60 })
              leases.push(sess.lease)
              a.session = sess
              a.abort = new AbortController()
              a.waiting = lock(a.client, "model", { session: sess, signal: a.abort.signal }).then(
                async (h) => {
                  grants.push({ token: h.fencingToken, at: h.grantedAt, key: text(h.key) })
                  a.handle = h
                  await fencedWrite(a)
                },
                () => {},
              )
              break
            }
            case "unlock":
              if (a.handle !== undefined) {
                await a.handle.unlock()
                a.handle = undefined
                await a.session?.close()
                a.waiting = undefined
              }
              break
            case "write":
              await fencedWrite(a)
              break
            case "crash":
              // The process dies: no unlock, no revoke; its lease lives on until it expires.
              a.abort?.abort()
              a.session?.keepAlive.close()
              a.client.close()
              actors[who] = { client: newClient() }
              break
            case "expire": {
              // The lease of this actor (or of the one it replaced) runs out on the server.
              const lease = a.session?.lease ?? leases[who % Math.max(1, leases.length)]
              if (lease !== undefined) await s.backend.leases.revoke(lease).catch(() => {})
              break
            }
          }
          await Bun.sleep(3)
        }
        // Everything expires; every waiter then either gets the lock or fails.
        for (const lease of leases) await s.backend.leases.revoke(lease).catch(() => {})
        await Promise.all(actors.map((a) => a.waiting))
      } finally {
        for (const a of actors) {
          a.abort?.abort()
          a.session?.keepAlive.close()
          a.client.close()
        }
        s.stop()
      }
      const byGrant = [...grants].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0))
      for (let i = 1; i < byGrant.length; i++)
        expect(byGrant[i]!.token).toBeGreaterThan(byGrant[i - 1]!.token)
      for (const g of grants) {
        const oldest = await s.backend.range({
          key: PREFIX,
          rangeEnd: PREFIX_END,
          revision: g.at,
          sortTarget: pb.RangeRequest_SortTarget.CREATE,
          sortOrder: pb.RangeRequest_SortOrder.ASCEND,
          limit: 1n,
        })
        expect(text(oldest.kvs![0]!.key)).toBe(g.key)
        expect(oldest.kvs![0]!.createRevision).toBe(g.token)
      }
      const byRev = [...writes].sort((x, y) => (x.rev < y.rev ? -1 : 1))
      for (let i = 1; i < byRev.length; i++)
        expect(byRev[i]!.token).toBeGreaterThanOrEqual(byRev[i - 1]!.token)
      // Every successful fenced write came from the holder of its time.
      for (const w of writes) {
        const holder = byGrant.filter((g) => g.at <= w.rev).at(-1)
        expect(holder?.token).toBe(w.token)
      }
    }),
    { numRuns: 25 },
  )
}, 120_000)
