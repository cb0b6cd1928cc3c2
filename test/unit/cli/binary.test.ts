/** The real entry point, spawned as a process (as `npm start` and users run it). */
import { describe, expect, test } from "bun:test"
import { join } from "node:path"
import packageJson from "../../../package.json" with { type: "json" }

const ROOT = join(import.meta.dir, "../../..")

const lattice = (...args: string[]) => {
  const proc = Bun.spawnSync([process.execPath, "src/cli/main.ts", ...args], { cwd: ROOT, env: { PATH: "" } })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}

describe("src/cli/main.ts", () => {
  test("--version prints the version and exits 0", () => {
    const result = lattice("--version")
    expect(result.code).toBe(0)
    expect(result.stdout).toStartWith(`lattice ${packageJson.version}\nruntime: bun `)
  })

  test("an unknown command exits 2", () => {
    const result = lattice("frobnicate")
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown command: "frobnicate"')
  })

  test("dev (what npm start runs) answers --help with its flags", () => {
    const result = lattice("dev", "--help")
    expect(result.code).toBe(0)
    expect(result.stdout).toStartWith("lattice dev: run a local cluster in one process")
    for (const flag of ["--config", "--nodes", "--data-dir", "--set"]) expect(result.stdout).toContain(flag)
  })

  test("start with a conflicting configuration exits 78 with the precise error, before binding anything", () => {
    const result = lattice("start", "--listen-metrics", "127.0.0.1:2379")
    expect(result.code).toBe(78)
    expect(result.stderr).toContain(
      "127.0.0.1:2379 is already used by listeners.etcd (from flag --listen-metrics)",
    )
  })
})
