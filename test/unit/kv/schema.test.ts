/** The Effect Schemas accept well-formed commands and reject malformed input with a reason. */
import { expect, test } from "bun:test"
import { Either } from "effect"
import fc from "fast-check"
import { decodeKvCommand, type KvCommand } from "../../../schemas/kv.ts"
import { txnArb } from "./gen.ts"
import { b } from "./helpers.ts"

test("generated txn commands validate and decode to themselves", () => {
  fc.assert(
    fc.property(txnArb(2), (request) => {
      const command: KvCommand = { type: "txn", tenant: "t", request }
      const r = decodeKvCommand(command)
      expect(Either.isRight(r) && r.right).toEqual(command)
    }),
    { numRuns: 100 },
  )
})

test("malformed commands are rejected", () => {
  const bad: unknown[] = [
    { type: "put", request: { key: "a-string" } },
    { type: "put", request: { key: b("a"), lease: 1.5 } },
    { type: "put", request: { key: b("a"), lease: 2 ** 60 } },
    { type: "put", tenant: "", request: { key: b("a") } },
    {
      type: "txn",
      request: { compare: [{ key: b("a"), target: "SIZE", result: "EQUAL" }], success: [], failure: [] },
    },
    {
      type: "txn",
      request: { compare: [], success: [{ type: "txn", request: { compare: [] } }], failure: [] },
    },
    { type: "compact", request: {} },
    { type: "explode" },
  ]
  for (const input of bad) expect(Either.isLeft(decodeKvCommand(input))).toBe(true)
})
