/**
 * The long-running commands re-execute themselves in place tuned (src/cli/runtime-tuning.ts):
 * same PID, same arguments, MIMALLOC_PURGE_DELAY=-1 and BUN_JSC_useFTLJIT=0 in the environment,
 * each unless the operator set it.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { CLIENT_TUNING, missingTuning, RUNTIME_TUNING, reexecArgv } from "../../../src/cli/runtime-tuning.ts"
import { FREE_PORT_FLAGS } from "../../support/free-ports.ts"

const MAIN = resolve(import.meta.dir, "../../../src/cli/main.ts")
const dir = mkdtempSync(join(tmpdir(), "lattice-alloc-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Starts a node that cannot reach NATS (it keeps retrying), reads its /proc view, kills it. */
const startedNode = async (env: Record<string, string | undefined>) => {
  const data = mkdtempSync(join(dir, "node-"))
  const child = Bun.spawn(
    [
      process.execPath,
      MAIN,
      "start",
      "--node-id",
      "n1",
      "--members",
      "n1",
      "--nats",
      "nats://127.0.0.1:1",
      "--data-dir",
      data,
      ...FREE_PORT_FLAGS,
    ],
    { env, stdout: "pipe", stderr: "pipe" },
  )
  try {
    // The banner is printed by the re-executed process, so once it is out the exec is done.
    const reader = child.stdout.getReader()
    let out = ""
    while (!out.includes("data dir")) {
      const { value, done } = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    reader.releaseLock()
    const proc = `/proc/${child.pid}`
    const environ = readFileSync(`${proc}/environ`, "utf8").split("\0")
    const cmdline = readFileSync(`${proc}/cmdline`, "utf8")
      .split("\0")
      .filter((s) => s !== "")
    return { environ, cmdline, banner: out }
  } finally {
    child.kill(9)
    await child.exited
  }
}

const baseEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env }
  delete env.MIMALLOC_PURGE_DELAY
  delete env.BUN_JSC_useFTLJIT
  return env
}

describe.skipIf(process.platform !== "linux" || !existsSync("/proc/self/environ"))("runtime tuning", () => {
  test("lattice start re-executes itself in place, tuned", async () => {
    const { environ, cmdline, banner } = await startedNode(baseEnv())
    expect(environ).toContain("MIMALLOC_PURGE_DELAY=-1")
    expect(environ).toContain("BUN_JSC_useFTLJIT=0")
    expect(cmdline.slice(-4)).toEqual(["--listen-http", "127.0.0.1:0", "--listen-metrics", "127.0.0.1:0"])
    expect(cmdline).toContain(MAIN)
    expect(banner).toContain("node n1")
  }, 30_000)

  // Each variable in turn set by the operator (to a value that is not the tuned one): it is
  // kept, and every other variable is still tuned.
  test.each([
    ["MIMALLOC_PURGE_DELAY", "10"],
    ["BUN_JSC_useFTLJIT", "1"],
  ])(
    "an operator's %s=%s is kept, the other variables still tuned",
    async (name, value) => {
      const { environ } = await startedNode({ ...baseEnv(), [name]: value })
      expect(environ).toContain(`${name}=${value}`)
      expect(environ).not.toContain(`${name}=${RUNTIME_TUNING[name]}`)
      for (const [other, tuned] of Object.entries(RUNTIME_TUNING)) {
        if (other !== name) expect(environ).toContain(`${other}=${tuned}`)
      }
    },
    30_000,
  )
})

describe("missingTuning", () => {
  test("names only the variables the environment does not set", () => {
    expect(missingTuning({})).toEqual({ MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useFTLJIT: "0" })
    expect(missingTuning({ BUN_JSC_useFTLJIT: "1" })).toEqual({ MIMALLOC_PURGE_DELAY: "-1" })
    expect(missingTuning({ MIMALLOC_PURGE_DELAY: "10", BUN_JSC_useFTLJIT: "0" })).toEqual({})
  })
  test("a load generator sets the allocator only, keeping the JIT's default", () => {
    expect(missingTuning({}, CLIENT_TUNING)).toEqual({ MIMALLOC_PURGE_DELAY: "-1" })
    expect(missingTuning({ MIMALLOC_PURGE_DELAY: "-1" }, CLIENT_TUNING)).toEqual({})
  })
})

describe("reexecArgv", () => {
  test("a compiled binary is the program: its arguments follow it", () => {
    expect(
      reexecArgv("/usr/bin/lattice", ["bun", "/$bunfs/root/lattice", "start", "--node-id", "n1"], []),
    ).toEqual(["/usr/bin/lattice", "start", "--node-id", "n1"])
  })
  test("a script keeps the runtime's flags and its path", () => {
    expect(reexecArgv("/opt/bun", ["/opt/bun", "/src/main.ts", "dev"], ["--smol"])).toEqual([
      "/opt/bun",
      "--smol",
      "/src/main.ts",
      "dev",
    ])
  })
})
