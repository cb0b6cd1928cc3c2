/**
 * A Raft snapshot's `data` for a KV group: the state machine's snapshot chunks, each prefixed
 * with its u32 length, so the receiver can hand `KvStateMachine.restore` the same chunks.
 */
import { Duration, Effect } from "effect"
import type { KvStateMachine } from "../src/kv/state-machine.ts"

export const encodeKvSnapshot = (sm: KvStateMachine): Uint8Array => joinChunks([...sm.snapshot()])

/**
 * The same encoding from a chunk stream read on its own connection (see `streamSnapshot`),
 * giving the event loop a turn after every chunk (256 KB of rows): a snapshot of a large store
 * takes hundreds of ms, which must not stall requests, Raft and applies on every node at once.
 * `first` is the stream's first chunk, taken by the caller when the snapshot's point in time
 * must be fixed (it opens the read transaction). The stream is closed however this ends.
 */
export const encodeKvSnapshotYielding = (
  first: Uint8Array,
  rest: Generator<Uint8Array>,
): Effect.Effect<Uint8Array> =>
  Effect.gen(function* () {
    const parts: Uint8Array[] = [first]
    while (true) {
      yield* Effect.sleep(Duration.zero)
      const next = rest.next()
      if (next.done === true) break
      parts.push(next.value)
    }
    return joinChunks(parts)
  }).pipe(Effect.ensuring(Effect.sync(() => rest.return(undefined))))

const joinChunks = (parts: readonly Uint8Array[]): Uint8Array => {
  let size = 0
  for (const p of parts) size += 4 + p.length
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
