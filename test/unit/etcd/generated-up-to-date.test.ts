/** The committed etcd.gen.ts must be exactly what the generator produces from proto/. */
import { expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const ROOT = join(import.meta.dir, "../../..")

test("src/adapters/etcd/proto/etcd.gen.ts is regenerated from proto/", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-gen-"))
  try {
    const out = join(dir, "etcd.gen.ts")
    const proc = Bun.spawnSync([process.execPath, join(ROOT, "scripts/gen-etcd-proto.ts"), out], {
      cwd: ROOT,
    })
    expect(proc.exitCode).toBe(0)
    const fresh = readFileSync(out, "utf8")
    const committed = readFileSync(join(ROOT, "src/adapters/etcd/proto/etcd.gen.ts"), "utf8")
    // On a mismatch run: bun scripts/gen-etcd-proto.ts
    expect(committed === fresh).toBe(true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
