/**
 * A mixed-version cluster during a rolling upgrade, at the wire: three Raft replicas (the real
 * core) whose every message goes through the real frame decoder, each node writing frames as its
 * release would — n1 the current version, n2 the previous one (version 1: no per-message
 * lengths), n3 a newer one (a higher version byte, a field appended to every message, and a
 * message type this release does not know between them). Leadership passes through each of
 * them and one restarts; every replica must apply the same entries, all of them.
 */
import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import type { Message } from "../../../src/raft/messages.ts"
import { ByteWriter } from "../../../src/transport/bytes.ts"
import { decodeFrame, encodeFrame, FRAME_VERSION, messageTable } from "../../../src/transport/raft-codec.ts"
import { Cluster, normalTexts } from "../raft/harness.ts"

const byType = new Map(messageTable.map((v) => [v.type as string, v]))

/** One message's fields as every version writes them (code, group, from, to, term, body). */
const fields = (w: ByteWriter, m: Message, nodes: readonly string[]) => {
  const variant = byType.get(m.type)!
  w.u8(variant.code)
  w.uvarint(m.group)
  w.uvarint(nodes.indexOf(m.from))
  w.uvarint(nodes.indexOf(m.to))
  w.uvarint(m.term)
  const record = m as unknown as Record<string, unknown>
  for (const [name, codec] of variant.body) codec.write(w, record[name])
}

const header = (w: ByteWriter, version: number, nodes: readonly string[]) => {
  w.u8(version)
  w.uvarint(nodes.length)
  for (const n of nodes) w.string(n)
}

/** The previous release: version 1, messages back to back without lengths. */
const legacyFrame = (m: Message): Uint8Array => {
  const nodes = [m.from, m.to]
  const w = new ByteWriter()
  header(w, 1, nodes)
  fields(w, m, nodes)
  return w.finish()
}

/** A later release: version N+1, an appended field on the message, and an unknown message first. */
const futureFrame = (m: Message): Uint8Array => {
  const nodes = [m.from, m.to]
  const w = new ByteWriter()
  header(w, FRAME_VERSION + 1, nodes)
  const unknown = new ByteWriter()
  unknown.u8(241)
  unknown.uvarint(m.group)
  unknown.string("a message type added later")
  w.bytes(unknown.finish())
  const body = new ByteWriter()
  fields(body, m, nodes)
  body.uvarint(987654) // a field appended by the later release
  body.string("ignored by older decoders")
  w.bytes(body.finish())
  return w.finish()
}

const WRITERS: Record<string, (m: Message) => Uint8Array> = {
  n1: (m) => encodeFrame([m]),
  n2: legacyFrame,
  n3: futureFrame,
}

describe("a mixed-version cluster (previous, current and next frame versions)", () => {
  test("elects each version's node, replicates and commits through all of them, survives a restart", () => {
    const c = new Cluster(["n1", "n2", "n3"])
    const versionsSeen = new Set<number>()
    c.wire = (m) => {
      const frame = WRITERS[m.from]!(m)
      versionsSeen.add(frame[0]!)
      const decoded = decodeFrame(frame)
      if (Either.isLeft(decoded)) throw new Error(`${m.from} → ${m.to}: ${decoded.left.reason}`)
      expect(decoded.right).toEqual([m])
      return decoded.right[0]!
    }
    const written: string[] = []
    const write = (leader: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const text = `${leader}-${written.length}`
        c.propose(leader, text)
        written.push(text)
      }
      c.deliverAll()
      c.tickAll(3)
    }
    for (const leader of ["n1", "n2", "n3", "n2"]) {
      c.elect(leader)
      expect(c.leaders()).toEqual([leader])
      write(leader, 5)
    }
    // The previous-version node restarts (as during its upgrade) and catches up.
    c.restart("n2")
    c.deliverAll()
    c.tickAll(3)
    c.elect("n1")
    write("n1", 5)
    c.tickAll(10)
    expect(versionsSeen).toEqual(new Set([1, FRAME_VERSION, FRAME_VERSION + 1]))
    for (const id of ["n1", "n2", "n3"]) expect(normalTexts(c.node(id))).toEqual(written)
  })
})
