/**
 * Checksums and decoding of the log store's rows. A row is returned only after its CRC-32
 * verified; anything else becomes a `CorruptionError` naming the group, index and file.
 */
import type { Entry, GroupId, HardState } from "../../schemas/raft.ts"
import { crc32Fields } from "./crc32.ts"
import { type SqlRow, type SqlValue, toSafeNumber } from "./driver.ts"
import { type CorruptionError, corruption } from "./errors.ts"
import { ENTRY_TYPE } from "./log-schema.ts"

const utf8 = new TextEncoder()

export const int = (v: SqlValue | undefined): number => toSafeNumber(v ?? null)

export const entryCrc = (
  group: GroupId,
  index: number,
  term: number,
  kind: number,
  data: Uint8Array,
): number => crc32Fields([group, index, term, kind], data)

export const hardStateCrc = (group: GroupId, hs: HardState): number =>
  crc32Fields([group, hs.term, hs.commit, hs.vote === null ? 0 : 1], utf8.encode(hs.vote ?? ""))

export const groupRowCrc = (
  group: GroupId,
  floorIdx: number,
  floorTerm: number,
  conf: string | null,
): number => crc32Fields([group, floorIdx, floorTerm, conf === null ? 0 : 1], utf8.encode(conf ?? ""))

export const snapshotRowCrc = (
  group: GroupId,
  snapId: number,
  index: number,
  term: number,
  size: number,
  chunks: number,
  dataCrc: number,
  conf: string,
): number => crc32Fields([group, snapId, index, term, size, chunks, dataCrc], utf8.encode(conf))

export const chunkCrc = (group: GroupId, snapId: number, seq: number, data: Uint8Array): number =>
  crc32Fields([group, snapId, seq], data)

/** Reads an integer column; a missing or non-integer value is corruption, not a TypeError. */
const field = (fail: (detail: string) => CorruptionError, row: SqlRow, name: string): number => {
  try {
    return int(row[name])
  } catch {
    throw fail(`column ${name} holds ${String(row[name])}`)
  }
}

export const decodeEntry = (file: string, group: GroupId, row: SqlRow): Entry => {
  const fail = (detail: string) => corruption(file, "entry", group, Number(row.idx), detail)
  const index = field(fail, row, "idx")
  const term = field(fail, row, "term")
  const kind = field(fail, row, "kind")
  const stored = field(fail, row, "crc")
  const data = row.data
  if (!(data instanceof Uint8Array)) throw fail("data is not a blob")
  const type = ENTRY_TYPE[kind]
  if (type === undefined) throw fail(`unknown entry kind ${kind}`)
  const computed = entryCrc(group, index, term, kind, data)
  if (computed !== stored) throw fail(`checksum mismatch (stored ${stored}, computed ${computed})`)
  return { index, term, type, data }
}

export const decodeHardState = (file: string, group: GroupId, row: SqlRow): HardState => {
  const fail = (detail: string) => corruption(file, "hard state", group, null, detail)
  const vote = row.vote
  if (vote !== null && typeof vote !== "string") throw fail("vote is not text")
  const hs: HardState = { term: field(fail, row, "term"), vote, commit: field(fail, row, "commit_idx") }
  const stored = field(fail, row, "crc")
  if (hardStateCrc(group, hs) !== stored) throw fail("checksum mismatch")
  return hs
}
