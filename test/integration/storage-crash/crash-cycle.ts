/**
 * One kill cycle of the crash test, and the check run after it: spawn the child on the db,
 * read its acknowledgements, SIGKILL it at a chosen point, then open the db ourselves and
 * verify that every acknowledged entry is there with its exact data, contiguous, with valid
 * checksums and a consistent hard state.
 */
import { join } from "node:path"
import { bunSqliteDriver } from "../../../src/storage/bun-sqlite.ts"
import { LogStore } from "../../../src/storage/log-store.ts"
import { entryData, GROUPS, SNAPSHOT_CHUNK_BYTES, snapshotData } from "./workload.ts"

/**
 * Bundles the child into one file, as `bun build --compile` does for the real binary: it starts
 * several times faster than loading the modules one by one, which keeps 100 kills quick.
 */
export const buildChild = async (outdir: string): Promise<string> => {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "child.ts")],
    target: "bun",
    minify: true,
    outdir,
  })
  if (!result.success) throw new Error(`cannot bundle the crash child: ${result.logs.join("\n")}`)
  return result.outputs[0]!.path
}

export type KillPoint =
  /** Kill as soon as the process exists (often during start-up or recovery). */
  | { readonly kind: "atSpawn" }
  /** Kill once this many acknowledgements have been read. */
  | { readonly kind: "afterAcks"; readonly acks: number }

export interface CycleResult {
  /** Highest acknowledged index per group in this cycle. */
  readonly acked: Map<number, number>
  readonly lines: number
}

export const runCycle = async (
  child: string,
  path: string,
  term: number,
  seed: number,
  kill: KillPoint,
  extraArgs: readonly string[] = [],
): Promise<CycleResult> => {
  const proc = Bun.spawn([process.execPath, child, path, String(term), String(seed), ...extraArgs], {
    stdout: "pipe",
    stderr: "pipe",
  })
  if (kill.kind === "atSpawn") proc.kill("SIGKILL")
  const acked = new Map<number, number>()
  let acks = 0
  let lines = 0
  let buffered = ""
  const decoder = new TextDecoder()
  // Read until EOF, also after the kill: every line the child wrote before dying counts.
  for await (const chunk of proc.stdout) {
    buffered += decoder.decode(chunk, { stream: true })
    let nl = buffered.indexOf("\n")
    while (nl >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      nl = buffered.indexOf("\n")
      lines++
      const m = /^ack (\d+) (\d+)$/.exec(line)
      if (m === null) continue
      const group = Number(m[1])
      acked.set(group, Math.max(acked.get(group) ?? 0, Number(m[2])))
      if (kill.kind === "afterAcks" && ++acks === kill.acks) proc.kill("SIGKILL")
    }
  }
  const code = await proc.exited
  if (proc.signalCode !== "SIGKILL") {
    const stderr = await new Response(proc.stderr).text()
    throw new Error(`child exited on its own (code ${code}) before the kill: ${stderr}`)
  }
  return { acked, lines }
}

/** Throws with a precise description on the first violation; returns how many groups hold a snapshot. */
export const verifyAfterCrash = (
  path: string,
  maxTerm: number,
  acked: ReadonlyMap<number, number>,
): number => {
  const db = bunSqliteDriver.open(path, { synchronous: "FULL" })
  try {
    const store = LogStore.open(db, { snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES })
    store.verify() // every checksum of every group
    let snapshots = 0
    for (const group of GROUPS) {
      const log = store.load(group)
      if (log.snapshot !== null) snapshots++
      const last = log.entries.at(-1)?.index ?? log.floor.index
      const want = acked.get(group) ?? 0
      if (last < want)
        throw new Error(`group ${group}: acknowledged up to ${want} but the log ends at ${last}`)
      for (const e of log.entries) {
        const expected = entryData(group, e.index)
        if (e.term > maxTerm || e.term < 1)
          throw new Error(`group ${group}: entry ${e.index} has term ${e.term}`)
        if (e.data.length !== expected.length || !e.data.every((b, i) => b === expected[i])) {
          throw new Error(`group ${group}: entry ${e.index} holds the wrong data`)
        }
      }
      if (log.snapshot !== null) {
        const { meta, data } = log.snapshot
        const expected = snapshotData(group, meta.index)
        if (meta.index > log.floor.index || meta.term > maxTerm) {
          throw new Error(
            `group ${group}: snapshot ${JSON.stringify(meta)} inconsistent with floor ${log.floor.index}`,
          )
        }
        if (data.length !== expected.length || !data.every((b, i) => b === expected[i])) {
          throw new Error(`group ${group}: snapshot at ${meta.index} holds the wrong data`)
        }
      }
      const hs = log.hardState
      if (hs.commit > last) throw new Error(`group ${group}: commit ${hs.commit} beyond last ${last}`)
      if (hs.term > maxTerm) throw new Error(`group ${group}: hard state term ${hs.term} > ${maxTerm}`)
      if (want > 0 && (hs.vote !== "n1" || hs.term < 1)) {
        throw new Error(`group ${group}: hard state ${JSON.stringify(hs)} is not the one written`)
      }
    }
    return snapshots
  } finally {
    db.close()
  }
}
