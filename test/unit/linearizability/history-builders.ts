/** Tiny constructors for hand-written KV histories. `ret` omitted = indeterminate (never answered). */
import type { KvOperation } from "../../support/linearizability-kv.ts"

let nextId = 0
const id = () => nextId++

export const write = (
  client: number,
  key: string,
  value: string,
  call: number,
  ret?: number,
): KvOperation => ({
  id: id(),
  client,
  input: { op: "write", key, value },
  output: ret === undefined ? null : { op: "write" },
  call,
  ret: ret ?? Infinity,
})

export const read = (
  client: number,
  key: string,
  value: string | null,
  call: number,
  ret: number,
): KvOperation => ({
  id: id(),
  client,
  input: { op: "read", key },
  output: { op: "read", value },
  call,
  ret,
})

export const cas = (
  client: number,
  key: string,
  expected: string | null,
  value: string,
  call: number,
  ret?: number,
  ok?: boolean,
): KvOperation => ({
  id: id(),
  client,
  input: { op: "cas", key, expected, value },
  output: ret === undefined ? null : { op: "cas", ok: ok ?? true },
  call,
  ret: ret ?? Infinity,
})
