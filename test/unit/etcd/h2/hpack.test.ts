import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { encodeHeaders, HpackDecoder, HpackError } from "../../../../src/adapters/etcd/h2/hpack.ts"
import {
  huffmanCodes,
  huffmanDecode,
  huffmanEncode,
  huffmanEncodedLength,
  huffmanLengths,
} from "../../../../src/adapters/etcd/h2/huffman.ts"

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"))
const huffman = (s: string) => {
  const out = new Uint8Array(huffmanEncodedLength(s))
  huffmanEncode(s, out, 0)
  return Buffer.from(out).toString("hex")
}

describe("HPACK Huffman code (RFC 7541 Appendix B)", () => {
  test("the code lengths make a complete prefix code, and EOS is thirty 1 bits", () => {
    const kraft = huffmanLengths.reduce((sum, len) => sum + 2 ** -len, 0)
    expect(kraft).toBe(1)
    expect(huffmanCodes[256]).toBe(0x3fffffff)
    expect(huffmanCodes[0]).toBe(0x1ff8)
    expect(huffmanCodes["a".charCodeAt(0)]).toBe(0x3)
  })

  test("the RFC's examples (C.4) encode and decode", () => {
    expect(huffman("www.example.com")).toBe("f1e3c2e5f23a6ba0ab90f4ff")
    expect(huffman("no-cache")).toBe("a8eb10649cbf")
    expect(huffman("custom-key")).toBe("25a849e95ba97d7f")
    expect(huffman("custom-value")).toBe("25a849e95bb8e8b4bf")
    const b = hex("25a849e95bb8e8b4bf")
    expect(huffmanDecode(b, 0, b.length)).toBe("custom-value")
  })

  test("any latin1 string round-trips", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }), (codes) => {
        const s = String.fromCharCode(...codes)
        const out = new Uint8Array(huffmanEncodedLength(s))
        expect(huffmanEncode(s, out, 0)).toBe(out.length)
        expect(huffmanDecode(out, 0, out.length)).toBe(s)
      }),
      { numRuns: 500 },
    )
  })

  test("padding that is not EOS's prefix, padding of 8 bits or more, and EOS itself are refused", () => {
    // "a" is 00011: padded with 1s it is 0x1f; with 0s, 0x18.
    expect(huffmanDecode(hex("1f"), 0, 1)).toBe("a")
    expect(() => huffmanDecode(hex("18"), 0, 1)).toThrow("padding")
    expect(() => huffmanDecode(hex("1fff"), 0, 2)).toThrow("padding")
    expect(() => huffmanDecode(hex("ffffffff"), 0, 4)).toThrow("EOS")
  })
})

describe("HPACK decoder", () => {
  test("the RFC's request examples without Huffman (C.3), with the dynamic table across blocks", () => {
    const d = new HpackDecoder()
    expect(d.decode(hex("828684410f7777772e6578616d706c652e636f6d"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ])
    expect(d.decode(hex("828684be58086e6f2d6361636865"))).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ])
    expect(d.decode(hex("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"))).toEqual([
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ])
  })

  test("the RFC's request examples with Huffman (C.4)", () => {
    const d = new HpackDecoder()
    expect(d.decode(hex("828684418cf1e3c2e5f23a6ba0ab90f4ff"))[3]).toEqual([":authority", "www.example.com"])
    expect(d.decode(hex("828684be5886a8eb10649cbf"))[4]).toEqual(["cache-control", "no-cache"])
    expect(d.decode(hex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"))[4]).toEqual([
      "custom-key",
      "custom-value",
    ])
  })

  test("a table size update evicts, and indexes outside the tables are errors", () => {
    const d = new HpackDecoder()
    d.decode(hex("400a637573746f6d2d6b65790c637573746f6d2d76616c7565"))
    expect(d.decode(hex("be"))).toEqual([["custom-key", "custom-value"]])
    // Size 0 empties the dynamic table: index 62 is gone.
    expect(() => d.decode(hex("20be"))).toThrow(HpackError)
    // An update above what we advertised, and an update after a header, are refused.
    expect(() => new HpackDecoder(4096).decode(hex("3fe21f"))).toThrow("table size")
    expect(() => new HpackDecoder().decode(hex("8220"))).toThrow("after a header")
    expect(() => new HpackDecoder().decode(hex("80"))).toThrow("index 0")
    expect(() => new HpackDecoder().decode(hex("410f77"))).toThrow(HpackError)
  })

  test("what the server encodes decodes back, long values included", () => {
    const headers: Array<readonly [string, string]> = [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", "3"],
      ["grpc-message", "x".repeat(300)],
    ]
    expect(new HpackDecoder().decode(encodeHeaders(headers))).toEqual(headers)
  })
})
