/**
 * `etcdctl lock` and `etcdctl elect` scenarios (real etcdctl 3.4, which runs etcd's client-side
 * concurrency recipes over KV txns with create-revision sorting, leases and watches). Shared by
 * the single-server test and the 3-node cluster test.
 */
import { expect } from "bun:test"
import { etcdctl, spawnEtcdctl } from "./harness.ts"

const LEASE_KEY = (name: string) => new RegExp(`^${name}/[0-9a-f]+$`, "m")

/** Two lockers: the second gets the lock (and runs its command) only after the first lets go. */
export const lockHandOver = async (endpoints: { a: string; b: string }, name: string): Promise<void> => {
  const first = spawnEtcdctl(endpoints.a, ["lock", name])
  try {
    const held = await first.readUntil((out) => LEASE_KEY(name).test(out))
    const firstKey = held.match(LEASE_KEY(name))![0]
    const second = Bun.spawn(
      [
        "/usr/bin/etcdctl",
        `--endpoints=${endpoints.b}`,
        "lock",
        name,
        "--",
        "sh",
        "-c",
        "echo got $ETCD_LOCK_KEY",
      ],
      { env: { ...process.env, ETCDCTL_API: "3" }, stdout: "pipe", stderr: "pipe" },
    )
    // While the first holds it, the second waits (and has queued its own key).
    await Bun.sleep(700)
    expect(second.exitCode).toBeNull()
    const queued = await etcdctl(endpoints.a, ["get", `${name}/`, "--prefix", "--keys-only"])
    expect(queued.out.split("\n").filter((l) => l !== "").length).toBe(2)
    await first.stop()
    expect(await second.exited).toBe(0)
    const out = await new Response(second.stdout).text()
    expect(out).toMatch(new RegExp(`^got ${name}/[0-9a-f]+\\n$`))
    expect(out).not.toContain(firstKey)
    // Both let go: nothing left under the lock's prefix.
    const left = await etcdctl(endpoints.a, ["get", `${name}/`, "--prefix", "--keys-only"])
    expect(left.out).toBe("")
  } finally {
    await first.stop()
  }
}

/** A leader, a waiting candidate and an observer: the observer sees the hand-over. */
export const electionHandOver = async (endpoints: { a: string; b: string }, name: string): Promise<void> => {
  const leader = spawnEtcdctl(endpoints.a, ["elect", name, "p1"])
  const observer = spawnEtcdctl(endpoints.b, ["elect", "-l", name])
  let candidate: ReturnType<typeof spawnEtcdctl> | undefined
  try {
    const won = await leader.readUntil((out) => out.includes("p1\n"))
    expect(won).toMatch(new RegExp(`^${name}/[0-9a-f]+\\np1\\n$`))
    await observer.readUntil((out) => out.includes("p1\n"))
    candidate = spawnEtcdctl(endpoints.b, ["elect", name, "p2"])
    await Bun.sleep(700)
    const current = await etcdctl(endpoints.a, ["get", `${name}/`, "--prefix"])
    expect(
      current.out
        .split("\n")
        .filter((l) => l === "p1" || l === "p2")
        .sort(),
    ).toEqual(["p1", "p2"])
    await leader.stop()
    const next = await candidate.readUntil((out) => out.includes("p2\n"))
    expect(next).toMatch(new RegExp(`^${name}/[0-9a-f]+\\np2\\n$`))
    const seen = await observer.readUntil((out) => out.includes("p2\n"))
    expect(seen.indexOf("p1\n")).toBeLessThan(seen.indexOf("p2\n"))
  } finally {
    await leader.stop()
    await candidate?.stop()
    await observer.stop()
  }
}
