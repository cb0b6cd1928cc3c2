/**
 * Random etcd operations for the model property test and the side-by-side etcd test. Keys
 * come from a small set (at most 12, so etcd's Go sort is stable on ties, as ours is) so
 * that operations collide often.
 */
import fc from "fast-check"
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from "../../../schemas/kv.ts"

const enc = new TextEncoder()
/** The one lease that exists (granted in etcd, reported by `leaseExists` to the state machine). */
export const GRANTED_LEASE = 7n
export const leaseExists = (id: bigint): boolean => id === GRANTED_LEASE
export const KEYS = ["a", "ab", "b", "b\u0000", "c", "cd", "d", "e", "f"].map((k) => enc.encode(k))
const VALUES = ["", "x", "y", "zz"].map((v) => enc.encode(v))
const ENDS = ["", "\u0000", "b", "c", "d", "e", "g", "a", "ac"].map((v) => enc.encode(v))

const key = fc.constantFrom(...KEYS)
const value = fc.constantFrom(...VALUES)
const rangeEnd = fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, fc.constantFrom(...ENDS))
const smallRev = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: -1, max: 30 }))

export const putArb: fc.Arbitrary<PutRequest> = fc.record({
  key: fc.oneof({ weight: 30, arbitrary: key }, fc.constant(new Uint8Array(0))),
  value,
  prevKv: fc.boolean(),
  ignoreValue: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, fc.constant(true)),
  ignoreLease: fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, fc.constant(true)),
  lease: fc.oneof({ weight: 12, arbitrary: fc.constant(0n) }, fc.constant(GRANTED_LEASE), fc.constant(8n)),
})

export const deleteArb: fc.Arbitrary<DeleteRangeRequest> = fc.record({ key, rangeEnd, prevKv: fc.boolean() })

export const rangeArb = (revision: fc.Arbitrary<number>): fc.Arbitrary<RangeRequest> =>
  fc.record({
    key,
    rangeEnd,
    limit: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 4 })),
    revision,
    sortOrder: fc.constantFrom<SortOrder>("NONE", "NONE", "ASCEND", "DESCEND"),
    sortTarget: fc.constantFrom<SortTarget>("KEY", "KEY", "VERSION", "CREATE", "MOD", "VALUE"),
    keysOnly: fc.boolean(),
    countOnly: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, fc.constant(true)),
    minModRevision: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 20 })),
    maxModRevision: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 20 })),
    minCreateRevision: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 20 })),
    maxCreateRevision: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 20 })),
  })

const compareArb: fc.Arbitrary<Compare> = fc.record({
  key,
  rangeEnd: fc.oneof({ weight: 4, arbitrary: fc.constant(new Uint8Array(0)) }, fc.constantFrom(...ENDS)),
  target: fc.constantFrom<CompareTarget>("VERSION", "CREATE", "MOD", "VALUE", "LEASE"),
  result: fc.constantFrom<CompareResult>("EQUAL", "GREATER", "LESS", "NOT_EQUAL"),
  value,
  operand: fc.bigInt({ min: 0n, max: 12n }),
})

const opArb = (depth: number): fc.Arbitrary<RequestOp> => {
  const leaves: fc.Arbitrary<RequestOp>[] = [
    putArb.map((request) => ({ type: "put" as const, request })),
    deleteArb.map((request) => ({ type: "deleteRange" as const, request })),
    rangeArb(smallRev).map((request) => ({ type: "range" as const, request })),
  ]
  if (depth > 0) leaves.push(txnArb(depth - 1).map((request) => ({ type: "txn" as const, request })))
  return fc.oneof(...leaves)
}

export const txnArb = (depth: number): fc.Arbitrary<TxnRequest> =>
  fc.record({
    compare: fc.array(compareArb, { maxLength: 2 }),
    success: fc.array(opArb(depth), { maxLength: 3 }),
    failure: fc.array(opArb(depth), { maxLength: 3 }),
  })

/** A step; revisions in `range`/`compact` are "back" offsets from the current revision. */
export type Step =
  | { readonly kind: "put"; readonly request: PutRequest }
  | { readonly kind: "deleteRange"; readonly request: DeleteRangeRequest }
  | { readonly kind: "txn"; readonly request: TxnRequest }
  | { readonly kind: "range"; readonly request: RangeRequest; readonly back: number }
  | { readonly kind: "compact"; readonly back: number }

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: putArb.map((request) => ({ kind: "put" as const, request })) },
  { weight: 2, arbitrary: deleteArb.map((request) => ({ kind: "deleteRange" as const, request })) },
  { weight: 4, arbitrary: txnArb(2).map((request) => ({ kind: "txn" as const, request })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(rangeArb(fc.constant(0)), fc.integer({ min: -2, max: 8 }))
      .map(([request, back]) => ({ kind: "range" as const, request, back })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: -1, max: 6 }).map((back) => ({ kind: "compact" as const, back })),
  },
)

/** Resolves a "back" offset: -1 is a future revision, -2 is "current" (0). */
export const resolveBack = (current: number, back: number): number =>
  back === -2 ? 0 : back === -1 ? current + 1 : Math.max(0, current - back)
