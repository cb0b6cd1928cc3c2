/** A watch stream whose client stops reading holds bounded memory and fails retriably. */
import { expect, test } from "bun:test"
import { EtcdError, GrpcCode } from "../../../src/adapters/etcd/errors.ts"
import type * as pb from "../../../src/adapters/etcd/proto/etcd.gen.ts"
import { EtcdService, WATCH_OVERFLOW_MESSAGE } from "../../../src/adapters/etcd/service.ts"
import { MemoryEtcdBackend } from "./support/memory-backend.ts"

const te = new TextEncoder()

test("a slow watch client gets what was queued, then UNAVAILABLE, and its watchers are released", async () => {
  const backend = new MemoryEtcdBackend()
  const svc = new EtcdService(backend, { maxPendingWatchResponses: 5 })
  async function* requests(): AsyncGenerator<pb.WatchRequest> {
    yield { createRequest: { key: te.encode("k") } }
    await new Promise(() => {}) // the client never sends more, nor closes
  }
  const stream = svc.watch(requests(), new AbortController().signal)
  expect((await stream.next()).value).toMatchObject({ created: true })
  for (let i = 0; i < 20; i++) await backend.put({ key: te.encode("k"), value: te.encode(String(i)) })
  const got: pb.WatchResponse[] = []
  let failure: unknown
  try {
    for await (const r of { [Symbol.asyncIterator]: () => stream }) got.push(r)
  } catch (e) {
    failure = e
  }
  expect(got.length).toBe(5)
  expect(got.map((r) => r.header!.revision)).toEqual([2n, 3n, 4n, 5n, 6n])
  expect(failure).toBeInstanceOf(EtcdError)
  expect((failure as EtcdError).code).toBe(GrpcCode.UNAVAILABLE)
  expect((failure as EtcdError).message).toBe(WATCH_OVERFLOW_MESSAGE)
  expect(backend.watcherCount).toBe(0)
})
