/**
 * Where the Lattice processes run from. Other engineers edit the shared working tree while the
 * benchmark runs, so by default the nodes run from a clean export of a git ref (HEAD), with the
 * repository's node_modules linked in; "worktree" runs the working tree as it is.
 */
import { mkdirSync, symlinkSync } from "node:fs"
import { join, resolve } from "node:path"

export const REPO_ROOT = resolve(import.meta.dir, "../../..")

/** Returns the root to run `src/cli/main.ts` from, and the commit it holds (or "worktree"). */
export const latticeSourceTree = (ref: string, exportDir: string): { root: string; commit: string } => {
  if (ref === "worktree") return { root: REPO_ROOT, commit: "worktree" }
  const rev = Bun.spawnSync(["git", "-C", REPO_ROOT, "rev-parse", "--verify", `${ref}^{commit}`])
  if (rev.exitCode !== 0)
    throw new Error(`--lattice-ref ${ref}: not a commit (${rev.stderr.toString().trim()})`)
  const commit = rev.stdout.toString().trim()
  mkdirSync(exportDir, { recursive: true })
  const archive = Bun.spawnSync([
    "sh",
    "-c",
    `git -C "${REPO_ROOT}" archive "${commit}" | tar -x -C "${exportDir}"`,
  ])
  if (archive.exitCode !== 0)
    throw new Error(`git archive ${commit} failed: ${archive.stderr.toString().trim()}`)
  symlinkSync(join(REPO_ROOT, "node_modules"), join(exportDir, "node_modules"))
  return { root: exportDir, commit }
}
