/**
 * Text from environment variables and flags becomes a typed value by the kind the schema expects
 * at that path. Text that does not fit is passed through unchanged, so the schema reports it
 * with the expected type ("expected boolean, got \"maybe\"").
 */
import type { ValueKind } from "./catalog.ts"

const TRUE = new Set(["true", "1", "yes", "on"])
const FALSE = new Set(["false", "0", "no", "off"])
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

export const coerceScalar = (text: string, kind: ValueKind): unknown => {
  const trimmed = text.trim()
  switch (kind) {
    case "boolean": {
      const lower = trimmed.toLowerCase()
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : text
    }
    case "number":
      return NUMBER.test(trimmed) ? Number(trimmed) : text
    default:
      return text
  }
}

/** A comma-separated list; each element coerced by the list's item kind. */
export const coerceList = (text: string, itemKind: ValueKind): unknown[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => coerceScalar(s, itemKind))
