/**
 * Typed binary codecs for message fields, composed into the Raft message table (raft-codec.ts).
 * Each codec carries a `shape`: a plain description tests use to generate arbitrary values, so
 * the round-trip property test follows the table automatically when a message changes.
 *
 * `write`/`read` are function-typed properties (not methods) so `FieldCodec<A>` is invariant
 * in `A`: a table entry whose type drifts from the message type is a compile error.
 */
import { ByteReader, ByteWriter, DecodeFailure } from "./bytes.ts"

export type Shape =
  | { readonly kind: "uint" }
  | { readonly kind: "bool" }
  | { readonly kind: "string" }
  | { readonly kind: "bytes" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "nullable"; readonly inner: Shape }
  | { readonly kind: "array"; readonly inner: Shape }
  | { readonly kind: "record"; readonly fields: ReadonlyArray<readonly [string, Shape]> }

export interface FieldCodec<A> {
  readonly shape: Shape
  readonly write: (w: ByteWriter, value: A) => void
  readonly read: (r: ByteReader) => A
}

/** Non-negative safe integer (index, term, group, id) as a varint. */
export const uint: FieldCodec<number> = {
  shape: { kind: "uint" },
  write: (w, value) => w.uvarint(value),
  read: (r) => r.uvarint(),
}

export const bool: FieldCodec<boolean> = {
  shape: { kind: "bool" },
  write: (w, value) => w.u8(value ? 1 : 0),
  read: (r) => {
    const at = r.offset
    const byte = r.u8()
    if (byte > 1) throw new DecodeFailure(at, `invalid boolean ${byte}`)
    return byte === 1
  },
}

export const string: FieldCodec<string> = {
  shape: { kind: "string" },
  write: (w, value) => w.string(value),
  read: (r) => r.string(),
}

export const bytes: FieldCodec<Uint8Array> = {
  shape: { kind: "bytes" },
  write: (w, value) => w.bytes(value),
  read: (r) => r.bytes(),
}

/** One of a fixed list of string literals, as its position (one byte). */
export const enumOf = <const V extends readonly string[]>(values: V): FieldCodec<V[number]> => {
  if (values.length > 256) throw new RangeError("enumOf supports at most 256 values")
  const codes = new Map<string, number>(values.map((v, i) => [v, i]))
  return {
    shape: { kind: "enum", values },
    write: (w, value) => {
      const code = codes.get(value)
      if (code === undefined) throw new RangeError(`not one of ${values.join("|")}: ${value}`)
      w.u8(code)
    },
    read: (r) => {
      const at = r.offset
      const code = r.u8()
      const value = values[code]
      if (value === undefined) throw new DecodeFailure(at, `invalid enum code ${code}`)
      return value
    },
  }
}

export const nullable = <A>(inner: FieldCodec<A>): FieldCodec<A | null> => ({
  shape: { kind: "nullable", inner: inner.shape },
  write: (w, value) => {
    if (value === null) return w.u8(0)
    w.u8(1)
    inner.write(w, value)
  },
  read: (r) => {
    const at = r.offset
    const tag = r.u8()
    if (tag === 0) return null
    if (tag === 1) return inner.read(r)
    throw new DecodeFailure(at, `invalid presence byte ${tag}`)
  },
})

export const array = <A>(inner: FieldCodec<A>): FieldCodec<readonly A[]> => ({
  shape: { kind: "array", inner: inner.shape },
  write: (w, values) => {
    w.uvarint(values.length)
    for (const value of values) inner.write(w, value)
  },
  read: (r) => {
    const at = r.offset
    const length = r.uvarint()
    // Every element takes at least one byte: a larger count is corrupt (and must not allocate).
    if (length > r.remaining) throw new DecodeFailure(at, `array length ${length} exceeds the frame`)
    const out = new Array<A>(length)
    for (let i = 0; i < length; i++) out[i] = inner.read(r)
    return out
  },
})

/** The codecs of every field of `A`, in wire order (the object's key order). */
export type FieldsOf<A> = { readonly [K in keyof A]-?: FieldCodec<A[K]> }

export const record = <A>(fields: FieldsOf<A>): FieldCodec<A> => {
  const entries = Object.entries(fields) as Array<[string, FieldCodec<unknown>]>
  return {
    shape: { kind: "record", fields: entries.map(([name, codec]) => [name, codec.shape] as const) },
    write: (w, value) => {
      for (const [name, codec] of entries) codec.write(w, (value as Record<string, unknown>)[name])
    },
    read: (r) => {
      const out: Record<string, unknown> = {}
      for (const [name, codec] of entries) out[name] = codec.read(r)
      return out as A
    },
  }
}

export { ByteReader, ByteWriter }
