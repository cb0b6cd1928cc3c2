/** `etcdctl lock` and `etcdctl elect` against one Lattice gRPC server over the reference backend. */
import { afterAll, beforeAll, describe, test } from "bun:test"
import { existsSync } from "node:fs"
import { MemoryEtcdBackend } from "../../unit/etcd/support/memory-backend.ts"
import { electionHandOver, lockHandOver } from "./elect-lock-scenarios.ts"
import { type Endpoint, startLattice } from "./harness.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl")

describe.skipIf(!hasEtcdctl)("etcdctl lock and elect (one server, reference backend)", () => {
  let lattice: Endpoint
  beforeAll(async () => {
    lattice = await startLattice(new MemoryEtcdBackend())
  })
  afterAll(async () => {
    await lattice.close()
  })

  test("lock: the second locker runs its command only after the first is stopped", async () => {
    await lockHandOver({ a: lattice.endpoint, b: lattice.endpoint }, "jobs")
  }, 30_000)

  test("elect: a waiting candidate takes over when the leader stops; an observer sees both", async () => {
    await electionHandOver({ a: lattice.endpoint, b: lattice.endpoint }, "cleanup-worker")
  }, 30_000)
})
