/** Membership changes through any node: proposed on the leader or forwarded to it. */
import { afterEach, describe, expect, test } from "bun:test"
import { Effect, Either } from "effect"
import type { ConfChange } from "../../../schemas/raft.ts"
import { makeTestCluster, put, type TestCluster } from "./cluster-support.ts"

let tc: TestCluster | null = null
afterEach(async () => {
  await tc?.cleanup()
  tc = null
})

const change = (t: TestCluster, via: string, c: ConfChange) =>
  Effect.runPromise(Effect.either(t.cluster.get(via)!.node.changeMembership(c)))

const confOf = (t: TestCluster, id: string) => t.cluster.get(id)!.node.group()!.view.status.conf

describe("membership changes through any node", () => {
  test("a follower demotes itself to learner via the leader, keeps replicating, and is promoted back", async () => {
    tc = makeTestCluster(3)
    await tc.cluster.startAll()
    const leader = await tc.cluster.awaitLeader()
    const follower = tc.cluster.ids.find((id) => id !== leader)!
    expect(Either.isRight(await change(tc, follower, { type: "demoteToLearner", node: follower }))).toBe(true)
    expect(confOf(tc, leader).learners).toEqual([follower])
    expect(confOf(tc, leader).voters).not.toContain(follower)
    await put(tc.cluster, leader, "k", "v")
    const h = tc.cluster.get(follower)!.node.group()!
    for (let i = 0; i < 200 && h.sm.revision < 2; i++) await Bun.sleep(10)
    expect(h.sm.revision).toBeGreaterThanOrEqual(2)
    expect(h.view.status.role).toBe("learner")
    // The same change again is already in effect: it succeeds without a second entry.
    expect(Either.isRight(await change(tc, follower, { type: "demoteToLearner", node: follower }))).toBe(true)
    expect(Either.isRight(await change(tc, follower, { type: "addVoter", node: follower }))).toBe(true)
    expect(confOf(tc, leader).voters).toContain(follower)
  }, 20_000)

  test("an invalid change is refused with the reason", async () => {
    tc = makeTestCluster(3)
    await tc.cluster.startAll()
    const leader = await tc.cluster.awaitLeader()
    const r = await change(tc, leader, { type: "demoteToLearner", node: "nobody" })
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) expect(r.left).toMatchObject({ _tag: "ConfChangeRefused", reason: "not a voter" })
  }, 20_000)
})
