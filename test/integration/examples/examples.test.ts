/**
 * The examples as a user runs them (spawned processes), briefly, against a 3-node Lattice
 * cluster in this process on free ports: the singleton runner hands leadership over when the
 * leader stops; the session store shares sessions between instances, renews and expires them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { join } from "node:path"
import { makeTestCluster, type TestCluster } from "../node/cluster-support.ts"

const ROOT = join(import.meta.dir, "../../..")
let tc: TestCluster
let endpoints: string

beforeAll(async () => {
  tc = makeTestCluster(
    3,
    (o) => o,
    () => ({ etcd: "127.0.0.1:0", http: "127.0.0.1:0" }),
  )
  await tc.cluster.startAll()
  await tc.cluster.awaitLeader()
  endpoints = tc.cluster.ids.map((id) => `127.0.0.1:${tc.cluster.get(id)!.listeners!.etcdPort}`).join(",")
})
afterAll(async () => {
  await tc.cleanup()
})

/** A spawned example whose stdout is read line by line. */
const spawn = (script: string, args: string[]) => {
  const proc = Bun.spawn([process.execPath, join(ROOT, "examples", script), ...args], {
    stdout: "pipe",
    stderr: "pipe",
  })
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let out = ""
  let pending: Promise<Awaited<ReturnType<typeof reader.read>>> | undefined
  return {
    proc,
    get out() {
      return out
    },
    async waitFor(text: string | RegExp, ms = 20_000): Promise<string> {
      const until = performance.now() + ms
      const has = () => (typeof text === "string" ? out.includes(text) : text.test(out))
      while (!has()) {
        if (performance.now() > until) throw new Error(`timed out waiting for ${text}; output:\n${out}`)
        // Keep the read in flight across timeouts: dropping it would lose its chunk.
        pending ??= reader.read()
        const chunk = await Promise.race([pending, Bun.sleep(200).then(() => undefined)])
        if (chunk === undefined) continue
        pending = undefined
        if (chunk.done)
          throw new Error(`${script} exited; output:\n${out}${await new Response(proc.stderr).text()}`)
        out += decoder.decode(chunk.value)
      }
      return out
    },
    /** SIGTERM, then the rest of its output. */
    async stop(): Promise<number> {
      proc.kill("SIGTERM")
      const code = await proc.exited
      for (;;) {
        const chunk = await (pending ?? reader.read()).catch(() => ({
          done: true as const,
          value: undefined,
        }))
        pending = undefined
        if (chunk.done) break
        out += decoder.decode(chunk.value)
      }
      return code
    },
  }
}

const run = async (script: string, args: string[]) => {
  const p = Bun.spawn([process.execPath, join(ROOT, "examples", script), ...args], {
    stdout: "pipe",
    stderr: "pipe",
  })
  return {
    code: await p.exited,
    out: await new Response(p.stdout).text(),
    err: await new Response(p.stderr).text(),
  }
}

test("both examples print usage on --help and refuse bad flags with what to do", async () => {
  for (const script of ["singleton-runner.ts", "session-store.ts"]) {
    const help = await run(script, ["--help"])
    expect(help.code).toBe(0)
    expect(help.out).toContain("Usage:")
  }
  const bad = await run("singleton-runner.ts", ["--lease-duration", "10", "--renew-deadline", "10"])
  expect(bad.code).toBe(2)
  expect(bad.err).toContain("leaseDuration must be greater than renewDeadline")
  const badPort = await run("session-store.ts", ["--port", "x"])
  expect(badPort.code).toBe(2)
  expect(badPort.err).toContain('--port must be 0-65535, got "x"')
}, 30_000)

test("singleton runner: one leader runs the tasks; stopping it hands over to the other", async () => {
  const flags = [
    "--endpoints",
    endpoints,
    "--lease-duration",
    "3",
    "--renew-deadline",
    "2",
    "--retry-period",
    "0.5",
  ]
  const a = spawn("singleton-runner.ts", [...flags, "--identity", "a", "--task-interval", "0.3"])
  let b: ReturnType<typeof spawn> | undefined
  try {
    await a.waitFor("a: ran session-cleanup")
    b = spawn("singleton-runner.ts", [...flags, "--identity", "b", "--task-interval", "0.3"])
    await b.waitFor("b: leader is a")
    expect(b.out).not.toContain("b: started leading")
    expect(await a.stop()).toBe(0)
    expect(a.out).toContain("a: stopped leading")
    await b.waitFor("b: ran metrics-aggregation")
  } finally {
    await a.stop()
    await b?.stop()
  }
  expect(b!.out).toContain("tasks/session-cleanup/last-run")
}, 60_000)

test("session store: sessions are shared between instances, renewed on use, gone on logout or expiry", async () => {
  const one = spawn("session-store.ts", ["--endpoints", endpoints, "--port", "0", "--ttl", "2"])
  const two = spawn("session-store.ts", ["--endpoints", endpoints, "--port", "0", "--ttl", "2"])
  try {
    const url = async (s: typeof one) =>
      (await s.waitFor(/listening on (http:\/\/\S+)/)).match(/listening on (http:\/\/\S+)/)![1]!
    const [u1, u2] = [await url(one), await url(two)]
    const login = await fetch(`${u1}/login`, { method: "POST", body: JSON.stringify({ user: "ada" }) })
    expect(login.status).toBe(201)
    const { id } = (await login.json()) as { id: string }
    // The other instance sees it (its live copy), and can use it.
    let listed: Record<string, { user: string }> = {}
    for (let i = 0; i < 100 && listed[id] === undefined; i++) {
      listed = ((await (await fetch(`${u2}/sessions`)).json()) as { sessions: typeof listed }).sessions
      if (listed[id] === undefined) await Bun.sleep(20)
    }
    expect(listed[id]?.user).toBe("ada")
    // Used every second, a 2 s session outlives 3 s.
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${u2}/sessions/${id}`)).status).toBe(200)
      await Bun.sleep(1000)
    }
    expect((await fetch(`${u1}/sessions/${id}`)).status).toBe(200)
    expect((await fetch(`${u2}/sessions/${id}`, { method: "DELETE" })).status).toBe(204)
    expect((await fetch(`${u1}/sessions/${id}`)).status).toBe(404)
    // An idle session expires with its lease.
    const idle = (await (await fetch(`${u1}/login`, { method: "POST", body: '{"user":"bob"}' })).json()) as {
      id: string
    }
    await Bun.sleep(3500)
    expect((await fetch(`${u1}/sessions/${idle.id}`)).status).toBe(404)
    expect((await fetch(`${u1}/login`, { method: "POST", body: "{}" })).status).toBe(400)
  } finally {
    await one.stop()
    await two.stop()
  }
}, 60_000)
