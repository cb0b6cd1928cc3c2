/**
 * Proto3 JSON helpers for the generated etcd codecs, following what etcd 3.4's grpc-gateway
 * (golang/protobuf jsonpb with OrigName, no EmitDefaults) produces and accepts:
 * - output uses the .proto field names, omits zero values, writes 64-bit integers as strings,
 *   bytes as padded standard base64, enums by name, and escapes strings the way Go does;
 * - input accepts the .proto name or its lowerCamelCase form, 64-bit integers as strings or
 *   numbers, enums by name or number, `null` as "unset", and ignores unknown fields.
 */

/** Raised on a request body that is not a valid JSON encoding of the message (INVALID_ARGUMENT). */
export class JsonDecodeError extends Error {
  override readonly name = "JsonDecodeError"
}

export type JsonObject = { readonly [key: string]: unknown }

const HEX = "0123456789abcdef"

/** A JSON string literal escaped like Go's encoding/json (HTML-safe: <, >, & as \u00XX). */
export const goQuote = (s: string): string => {
  let out = '"'
  let last = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let esc: string | undefined
    if (c === 0x22) esc = '\\"'
    else if (c === 0x5c) esc = "\\\\"
    else if (c === 0x0a) esc = "\\n"
    else if (c === 0x0d) esc = "\\r"
    else if (c === 0x09) esc = "\\t"
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      esc = `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`
    } else if (c >= 0xd800 && c < 0xe000) {
      // A lone surrogate is invalid UTF-8; Go writes U+FFFD.
      const pair =
        c < 0xdc00 && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) < 0xe000
      if (pair) {
        i++
        continue
      }
      esc = "\\ufffd"
    }
    if (esc !== undefined) {
      out += s.slice(last, i) + esc
      last = i + 1
    }
  }
  return `${out + s.slice(last)}"`
}

export const base64Encode = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString("base64")

const BASE64_CHAR = /[A-Za-z0-9+/]/

/** Strict standard base64 with padding, as Go's base64.StdEncoding decodes it. */
export const base64Decode = (s: string): Uint8Array => {
  let pad = 0
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!
    if (ch === "=") {
      pad++
      if (pad > 2 || (i !== s.length - 1 && s[i + 1] !== "=")) {
        throw new JsonDecodeError(`illegal base64 data at input byte ${i}`)
      }
    } else if (pad > 0 || !BASE64_CHAR.test(ch)) {
      throw new JsonDecodeError(`illegal base64 data at input byte ${i}`)
    }
  }
  if (s.length % 4 !== 0) throw new JsonDecodeError(`illegal base64 data at input byte ${s.length}`)
  return new Uint8Array(Buffer.from(s, "base64"))
}

const typeError = (what: string, value: unknown, field: string): never => {
  const got = Array.isArray(value) ? "array" : value === null ? "null" : typeof value
  throw new JsonDecodeError(`json: cannot unmarshal ${got} into Go value of type ${what} (field ${field})`)
}

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const UINT64_MAX = (1n << 64n) - 1n

const toBigInt = (value: unknown, field: string, what: string): bigint => {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new JsonDecodeError(`json: cannot unmarshal number ${value} into Go value of type ${what}`)
    }
    return BigInt(value)
  }
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value)
  return typeError(what, value, field)
}

export const jsonInt64 = (value: unknown, field: string): bigint => {
  const v = toBigInt(value, field, "int64")
  if (v < INT64_MIN || v > INT64_MAX) throw new JsonDecodeError(`json: int64 out of range (field ${field})`)
  return v
}

export const jsonUint64 = (value: unknown, field: string): bigint => {
  const v = toBigInt(value, field, "uint64")
  if (v < 0n || v > UINT64_MAX) throw new JsonDecodeError(`json: uint64 out of range (field ${field})`)
  return v
}

export const jsonInt32 = (value: unknown, field: string): number => {
  const v = toBigInt(value, field, "int32")
  if (v < -(1n << 31n) || v >= 1n << 31n)
    throw new JsonDecodeError(`json: int32 out of range (field ${field})`)
  return Number(v)
}

export const jsonUint32 = (value: unknown, field: string): number => {
  const v = toBigInt(value, field, "uint32")
  if (v < 0n || v >= 1n << 32n) throw new JsonDecodeError(`json: uint32 out of range (field ${field})`)
  return Number(v)
}

export const jsonBool = (value: unknown, field: string): boolean =>
  typeof value === "boolean" ? value : typeError("bool", value, field)

export const jsonString = (value: unknown, field: string): string =>
  typeof value === "string" ? value : typeError("string", value, field)

export const jsonBytes = (value: unknown, field: string): Uint8Array =>
  typeof value === "string" ? base64Decode(value) : typeError("[]byte", value, field)

export const jsonEnum = (
  value: unknown,
  field: string,
  byName: { readonly [name: string]: number },
  enumName: string,
): number => {
  if (typeof value === "number" && Number.isInteger(value)) return value
  if (typeof value === "string") {
    const v = byName[value]
    if (v !== undefined) return v
    throw new JsonDecodeError(`unknown value ${goQuote(value)} for enum ${enumName}`)
  }
  return typeError(enumName, value, field)
}

export const jsonArray = (value: unknown, field: string): readonly unknown[] =>
  Array.isArray(value) ? value : typeError("slice", value, field)

export const jsonObject = (value: unknown, field: string): JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : typeError("object", value, field)

/** The value of a field under its .proto name or its lowerCamelCase JSON name; null counts as absent. */
export const jsonField = (obj: JsonObject, protoName: string, camelName: string): unknown => {
  const v = obj[protoName]
  if (v !== undefined && v !== null) return v
  const c = protoName === camelName ? undefined : obj[camelName]
  return c === null ? undefined : c
}
