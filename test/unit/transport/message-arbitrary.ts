/**
 * fast-check arbitraries for Raft messages, derived from the codec's own table (its field
 * shapes), so every variant and every field is covered as the Message union evolves.
 */
import fc from "fast-check"
import type { Message } from "../../../src/raft/messages.ts"
import type { Shape } from "../../../src/transport/field-codecs.ts"
import { messageTable } from "../../../src/transport/raft-codec.ts"
import { unicodeString } from "./helpers.ts"

const uintArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 2 ** 32 }),
  fc.constantFrom(0, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
)

const stringArb = fc.oneof(fc.string({ maxLength: 12 }), unicodeString(12))

export const nodeIdArb = fc.oneof(fc.constantFrom("n1", "n2", "n3"), stringArb)

export const arbitraryOf = (shape: Shape): fc.Arbitrary<unknown> => {
  switch (shape.kind) {
    case "uint":
      return uintArb
    case "bool":
      return fc.boolean()
    case "string":
      return stringArb
    case "bytes":
      return fc.uint8Array({ maxLength: 64 })
    case "enum":
      return fc.constantFrom(...shape.values)
    case "nullable":
      return fc.option(arbitraryOf(shape.inner), { nil: null })
    case "array":
      return fc.array(arbitraryOf(shape.inner), { maxLength: 5 })
    case "record":
      return fc.record(Object.fromEntries(shape.fields.map(([name, inner]) => [name, arbitraryOf(inner)])))
  }
}

/** One arbitrary per message type, in table order. */
export const variantArbitraries: ReadonlyArray<readonly [string, fc.Arbitrary<Message>]> = messageTable.map(
  (variant) =>
    [
      variant.type,
      fc.record({
        type: fc.constant(variant.type),
        group: uintArb,
        from: nodeIdArb,
        to: nodeIdArb,
        term: uintArb,
        ...Object.fromEntries(variant.body.map(([name, codec]) => [name, arbitraryOf(codec.shape)])),
      }) as unknown as fc.Arbitrary<Message>,
    ] as const,
)

export const messageArb: fc.Arbitrary<Message> = fc.oneof(...variantArbitraries.map(([, arb]) => arb))
