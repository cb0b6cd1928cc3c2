import { describe, expect, test } from "bun:test"
import { closest, editDistance } from "../../../src/config/suggest.ts"
import { lineOfKey } from "../../../src/config/toml.ts"

describe("suggestions", () => {
  test("edit distance counts insertions, deletions and substitutions", () => {
    expect(editDistance("", "abc")).toBe(3)
    expect(editDistance("kitten", "sitting")).toBe(3)
    expect(editDistance("same", "same")).toBe(0)
  })

  test("the closest name is suggested only when it is plausibly meant", () => {
    const known = [
      "drain_timeout_seconds",
      "leadership_transfer_timeout_seconds",
      "shutdown_grace_period_seconds",
    ]
    expect(closest("drain_timout_seconds", known)).toBe("drain_timeout_seconds")
    expect(closest("shutdown", known)).toBe("shutdown_grace_period_seconds")
    expect(closest("zzz", known)).toBeUndefined()
  })
})

describe("lineOfKey", () => {
  const text = [
    "# comment",
    "[node]",
    'id = "n1"',
    "",
    "[[cluster.peers]]",
    'id = "a"',
    "[[cluster.peers]]",
    'id = "b"',
    "[tls.etcd]  # inline comment",
    'cert_file = "x"',
  ].join("\n")

  test("finds keys in tables, arrays of tables and dotted tables", () => {
    expect(lineOfKey(text, ["node", "id"])).toBe(3)
    expect(lineOfKey(text, ["cluster", "peers", 0, "id"])).toBe(6)
    expect(lineOfKey(text, ["cluster", "peers", 1, "id"])).toBe(8)
    expect(lineOfKey(text, ["cluster", "peers", 1])).toBe(7)
    expect(lineOfKey(text, ["tls", "etcd", "cert_file"])).toBe(10)
    expect(lineOfKey(text, ["node", "data_dir"])).toBeUndefined()
  })
})
