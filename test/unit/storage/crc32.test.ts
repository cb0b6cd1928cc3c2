/**
 * CRC-32 (IEEE): the check value, incremental feeding, and the native path (Bun's) agreeing
 * with the table code that Deno runs, on arbitrary input.
 */
import { expect, test } from "bun:test"
import fc from "fast-check"
import { crc32 as kvCrc32 } from "../../../src/kv/crc32.ts"
import { CRC32_INIT, crc32, crc32Final, crc32Update, crc32UpdateJs } from "../../../src/storage/crc32.ts"

const ascii = (s: string) => new TextEncoder().encode(s)

test("the standard check value", () => {
  expect(crc32(ascii("123456789"))).toBe(0xcbf43926)
  expect(kvCrc32(ascii("123456789"))).toBe(0xcbf43926)
  expect(crc32(new Uint8Array(0))).toBe(0)
})

test("native and table code agree, fed whole or in pieces", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), (a, b) => {
      const whole = new Uint8Array([...a, ...b])
      const js = crc32Final(crc32UpdateJs(crc32UpdateJs(CRC32_INIT, a), b))
      expect(crc32Final(crc32Update(crc32Update(CRC32_INIT, a), b))).toBe(js)
      expect(crc32(whole)).toBe(js)
      expect(kvCrc32(b, kvCrc32(a))).toBe(js)
    }),
  )
})
