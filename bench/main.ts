/**
 * Runs the benchmarks: every `bench/<area>/*.ts` entry point (files starting with "_" are helpers).
 *   bun bench/main.ts            # all of them, one after another
 *   bun bench/main.ts storage    # only those whose path contains "storage"
 *   bun bench/main.ts --list
 */
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"

const root = import.meta.dir
const entries = readdirSync(root)
  .filter((area) => statSync(join(root, area)).isDirectory())
  .flatMap((area) =>
    readdirSync(join(root, area))
      .filter((file) => file.endsWith(".ts") && !file.startsWith("_") && !file.endsWith(".test.ts"))
      .map((file) => `${area}/${file}`),
  )
  .sort()

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  console.log(
    "usage: npm run bench [-- FILTER ...] [-- --list]\nRuns bench/<area>/*.ts whose path contains a FILTER.",
  )
  process.exit(0)
}
if (args.includes("--list")) {
  for (const entry of entries) console.log(entry)
  process.exit(0)
}
const selected = args.length === 0 ? entries : entries.filter((e) => args.some((f) => e.includes(f)))
if (selected.length === 0) {
  console.error(`no benchmark matches ${args.join(", ")}; available:\n  ${entries.join("\n  ")}`)
  process.exit(2)
}
let failures = 0
for (const entry of selected) {
  console.log(`\n## ${entry}`)
  const proc = Bun.spawnSync([process.execPath, join(root, entry)], { stdout: "inherit", stderr: "inherit" })
  if (proc.exitCode !== 0) {
    failures++
    console.error(`${entry} exited with ${proc.exitCode}`)
  }
}
process.exit(failures === 0 ? 0 : 1)
