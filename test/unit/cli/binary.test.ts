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

  test("dev (what npm start runs) fails loudly while the runtime is missing", () => {
    const result = lattice("dev", "--data-dir", "/tmp/lattice-dev-test")
    expect(result.code).toBe(69)
    expect(result.stderr).toContain("the node runtime is not built yet (issue 5)")
  })
})
