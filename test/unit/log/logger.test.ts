/** The structured logger: JSON and text lines, levels, annotations as fields. */
import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { loggingLayer } from "../../../src/log/logger.ts"

const capture = async (format: "json" | "text", level: "debug" | "info" | "warn" | "error") => {
  const lines: string[] = []
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* Effect.logDebug("debug line")
      yield* Effect.logInfo("leader is n2").pipe(Effect.annotateLogs({ group: 1, term: 7 }))
      yield* Effect.logWarning("write failed: Overloaded").pipe(Effect.annotateLogs({ request_id: "n1-a" }))
      yield* Effect.logError("group quarantined: checksum mismatch")
    }).pipe(
      Effect.annotateLogs({ node: "n1" }),
      Effect.provide(loggingLayer({ level, format, write: (l) => lines.push(l) })),
    ),
  )
  return lines
}

describe("logger", () => {
  test("json: one object per line with ts, level, msg, node, group, term, request_id", async () => {
    const lines = await capture("json", "debug")
    expect(lines.length).toBe(4)
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(parsed.map((p) => p.level)).toEqual(["debug", "info", "warn", "error"])
    expect(parsed[1]).toMatchObject({ msg: "leader is n2", node: "n1", group: 1, term: 7 })
    expect(parsed[2]).toMatchObject({ msg: "write failed: Overloaded", node: "n1", request_id: "n1-a" })
    for (const p of parsed) expect(Number.isNaN(Date.parse(p.ts as string))).toBe(false)
  })

  test("the level filters what is written", async () => {
    expect((await capture("json", "info")).length).toBe(3)
    expect((await capture("json", "warn")).length).toBe(2)
    expect((await capture("json", "error")).length).toBe(1)
  })

  test("text: timestamp, level, message, then key=value fields", async () => {
    const lines = await capture("text", "info")
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO {2}leader is n2 /)
    for (const kv of ["node=n1", "group=1", "term=7"]) expect(lines[0]).toContain(kv)
    expect(lines[1]).toContain("WARN  write failed: Overloaded")
    expect(lines[1]).toContain("request_id=n1-a")
  })
})
