/**
 * A Raft snapshot's `data` for a KV group: the state machine's snapshot chunks, each prefixed
 * with its u32 length, so the receiver can hand `KvStateMachine.restore` the same chunks.
 */
import type { KvStateMachine } from "../src/kv/state-machine.ts"

export const encodeKvSnapshot = (sm: KvStateMachine): Uint8Array => {
  const parts: Uint8Array[] = []
  let size = 0
  for (const chunk of sm.snapshot()) {
    parts.push(chunk)
    size += 4 + chunk.length
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let off = 0
  for (const p of parts) {
    view.setUint32(off, p.length)
    out.set(p, off + 4)
    off += 4 + p.length
  }
  return out
}

export function* decodeKvSnapshot(data: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let off = 0
  while (off < data.length) {
    if (off + 4 > data.length) throw new Error("snapshot data: truncated length prefix")
    const len = view.getUint32(off)
    if (off + 4 + len > data.length) throw new Error("snapshot data: truncated chunk")
    yield data.subarray(off + 4, off + 4 + len)
    off += 4 + len
  }
}
