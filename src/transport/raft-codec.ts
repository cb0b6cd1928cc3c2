/**
 * Binary encoding of Raft message batches (one frame per NATS message), not JSON.
 *
 *   frame   = version:u8(=3) nodeCount:uvarint nodeId:string*nodeCount message*   (to the end)
 *   message = length:uvarint type:u8 group:uvarint from:uvarint to:uvarint term:uvarint field*
 *
 * Mixed versions (rolling upgrades, docs/transport.md): from version 3 on, this envelope is
 * frozen and every message carries its length. A later version may only append fields to a
 * message type and add new type codes, so a decoder accepts any version >= 3, ignores bytes after
 * the fields it knows, and skips messages of unknown types. Version 1 frames (no lengths; builds
 * before 0.1.0) are still decoded. The first byte 2 is a fragment (fragments.ts), never a version.
 *
 * `from`/`to` index the frame's node table, so ids are written once per frame. The fields of
 * each message type follow in the order of the table below; uint = LEB128 varint, bytes/strings
 * are varint-length-prefixed, bool and enums one byte, nullable a presence byte, arrays a varint
 * count. Type codes are part of the wire format: never renumber, only append.
 *
 * Decoding rejects garbage (bad version, unknown type, truncation, out-of-range index, trailing
 * bytes) with a `FrameDecodeError`; it never throws.
 */
import { Either } from "effect"
import type { ConfState, Entry, NodeId, Snapshot, SnapshotMeta } from "../../schemas/raft.ts"
import type { MessageEnvelope, RejectReason } from "../raft/api.ts"
import type { Message, MessageType } from "../raft/messages.ts"
import { ByteReader, ByteWriter, DecodeFailure } from "./bytes.ts"
import { FrameDecodeError } from "./errors.ts"
import {
  array,
  bool,
  bytes,
  enumOf,
  type FieldCodec,
  type FieldsOf,
  nullable,
  record,
  string,
  uint,
} from "./field-codecs.ts"

export const FRAME_VERSION = 3
/** The last version without per-message lengths: still decoded. */
const LEGACY_FRAME_VERSION = 1

const confState = record<ConfState>({
  voters: array(string),
  learners: array(string),
  votersOutgoing: array(string),
})
const snapshotMeta = record<SnapshotMeta>({ index: uint, term: uint, conf: confState })
const snapshot = record<Snapshot>({ meta: snapshotMeta, data: bytes })
const entry = record<Entry>({
  index: uint,
  term: uint,
  type: enumOf(["normal", "conf", "noop"]),
  data: bytes,
})
const rejectReasons = ["notLeader", "transferring", "confChangeInProgress", "notVoter", "noLeader"] as const
const rejectReason: FieldCodec<RejectReason> = enumOf(rejectReasons)

type Variant<T extends MessageType> = Extract<Message, { readonly type: T }>
/** The fields after the envelope: everything but type, group, from, to, term. */
type BodyOf<T extends MessageType> = Omit<Variant<T>, "type" | keyof MessageEnvelope>

interface VariantSpec<T extends MessageType> {
  readonly code: number
  readonly body: FieldsOf<BodyOf<T>>
}

/** Every message type must appear here with every field (checked by the compiler). */
const variants: { readonly [T in MessageType]: VariantSpec<T> } = {
  preVote: { code: 1, body: { lastIndex: uint, lastTerm: uint } },
  preVoteResp: { code: 2, body: { reject: bool } },
  vote: { code: 3, body: { lastIndex: uint, lastTerm: uint, force: bool } },
  voteResp: { code: 4, body: { reject: bool } },
  append: { code: 5, body: { prevIndex: uint, prevTerm: uint, entries: array(entry), commit: uint } },
  appendResp: { code: 6, body: { reject: bool, index: uint, hintIndex: uint, hintTerm: uint } },
  heartbeat: { code: 7, body: { commit: uint, context: uint } },
  heartbeatResp: { code: 8, body: { context: uint } },
  snapshot: { code: 9, body: { snapshot } },
  timeoutNow: { code: 10, body: {} },
  readIndex: { code: 11, body: { ids: array(uint) } },
  readIndexResp: {
    code: 12,
    body: { ids: array(uint), index: uint, reject: nullable(rejectReason), leader: nullable(string) },
  },
}

interface CompiledVariant {
  readonly type: MessageType
  readonly code: number
  readonly body: ReadonlyArray<readonly [string, FieldCodec<unknown>]>
}

const compiled: readonly CompiledVariant[] = Object.entries(variants).map(([type, spec]) => ({
  type: type as MessageType,
  code: spec.code,
  body: Object.entries(spec.body) as Array<[string, FieldCodec<unknown>]>,
}))
const byType = new Map(compiled.map((v) => [v.type, v]))
const byCode = new Map(compiled.map((v) => [v.code, v]))

/** The table, for tests: each type's wire code and field codecs (with their shapes). */
export const messageTable: ReadonlyArray<CompiledVariant> = compiled

const writeHeader = (w: ByteWriter, nodes: readonly NodeId[]) => {
  w.u8(FRAME_VERSION)
  w.uvarint(nodes.length)
  for (const node of nodes) w.string(node)
}

const scratchMessage = new ByteWriter(4096)

/** One message, length-prefixed so a decoder of another version can skip what it does not know. */
const writeMessage = (w: ByteWriter, message: Message, nodeIndex: ReadonlyMap<NodeId, number>) => {
  scratchMessage.reset()
  writeMessageFields(scratchMessage, message, nodeIndex)
  w.bytes(scratchMessage.view())
}

const writeMessageFields = (w: ByteWriter, message: Message, nodeIndex: ReadonlyMap<NodeId, number>) => {
  const variant = byType.get(message.type)
  if (!variant) throw new RangeError(`unknown raft message type ${String(message.type)}`)
  w.u8(variant.code)
  w.uvarint(message.group)
  w.uvarint(nodeIndex.get(message.from)!)
  w.uvarint(nodeIndex.get(message.to)!)
  w.uvarint(message.term)
  const fields = message as unknown as Record<string, unknown>
  for (const [name, codec] of variant.body) codec.write(w, fields[name])
}

export interface EncodedFrames {
  readonly frames: Uint8Array[]
  /** Messages dropped because one alone does not fit in `maxFrameBytes` and was not fragmented. */
  readonly oversize: number
}

/** The node table of the frame being built; ids are added as messages need them. */
class NodeTable {
  readonly ids: NodeId[] = []
  readonly index = new Map<NodeId, number>()
  /** Encoded size of the table's entries (not counting its varint count). */
  bytes = 0

  add(id: NodeId): void {
    if (this.index.has(id)) return
    this.index.set(id, this.ids.length)
    this.ids.push(id)
    const length = textEncoder.encode(id).length
    this.bytes += varintLength(length) + length
  }

  truncate(size: number): void {
    while (this.ids.length > size) {
      const id = this.ids.pop()!
      this.index.delete(id)
      const length = textEncoder.encode(id).length
      this.bytes -= varintLength(length) + length
    }
  }

  headerLength(): number {
    return 1 + varintLength(this.ids.length) + this.bytes
  }
}

const textEncoder = new TextEncoder()
const varintLength = (value: number): number => {
  let n = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    n++
  }
  return n
}

let scratchBody = new ByteWriter(64 * 1024)
const scratchHeader = new ByteWriter(256)

/**
 * Encodes `messages` into as few frames of at most `maxFrameBytes` as possible, in order.
 * A message that alone exceeds the limit goes to `fragment` (see fragments.ts), whose pieces take
 * its place; without a fragmenter, or when it returns null, the message is dropped and counted.
 */
export const encodeFrames = (
  messages: readonly Message[],
  maxFrameBytes: number,
  fragment?: (singleMessageFrame: Uint8Array) => Uint8Array[] | null,
): EncodedFrames => {
  const frames: Uint8Array[] = []
  let oversize = 0
  let table = new NodeTable()
  // Scratch writers are reused across calls: encoding is synchronous, and frames are copied out.
  const body = scratchBody
  const header = scratchHeader
  body.reset()
  let count = 0

  const closeFrame = () => {
    header.reset()
    writeHeader(header, table.ids)
    const out = new Uint8Array(header.length + body.length)
    out.set(header.view())
    out.set(body.view(), header.length)
    frames.push(out)
    table = new NodeTable()
    body.reset()
    count = 0
  }

  /** Appends `message` to the open frame if it fits; otherwise leaves the frame unchanged. */
  const tryAppend = (message: Message): boolean => {
    const tableSize = table.ids.length
    const bodyLength = body.length
    table.add(message.from)
    table.add(message.to)
    writeMessage(body, message, table.index)
    if (table.headerLength() + body.length <= maxFrameBytes) return true
    table.truncate(tableSize)
    body.length = bodyLength
    return false
  }

  for (const message of messages) {
    if (tryAppend(message)) {
      count++
      continue
    }
    if (count > 0) {
      closeFrame()
      if (tryAppend(message)) {
        count++
        continue
      }
    }
    // Alone it does not fit: hand it, as its own frame, to the fragmenter (in order).
    const pieces = fragment?.(encodeFrame([message])) ?? null
    if (pieces === null) oversize++
    else frames.push(...pieces)
  }
  if (count > 0) closeFrame()
  // A huge message (a snapshot) grew the scratch buffer: do not keep that memory around.
  if (body.capacity > 4 * 1024 * 1024) scratchBody = new ByteWriter(64 * 1024)
  return { frames, oversize }
}

/** Encodes a batch as one frame regardless of size. */
export const encodeFrame = (messages: readonly Message[]): Uint8Array => {
  return encodeFrames(messages, Number.POSITIVE_INFINITY).frames[0] ?? emptyFrame()
}

const emptyFrame = () => {
  const w = new ByteWriter(2)
  writeHeader(w, [])
  return w.finish()
}

/** A length-prefixed message: null for a type this version does not know (a newer sender's). */
const readFramedMessage = (r: ByteReader, nodes: readonly NodeId[]): Message | null => {
  const at = r.offset
  const body = r.bytes()
  if (body.length === 0) throw new DecodeFailure(at, "empty message")
  if (!byCode.has(body[0]!)) return null
  // Fields appended by a newer version follow the ones we know: ignored.
  return readMessage(new ByteReader(body), nodes, at)
}

const readMessage = (r: ByteReader, nodes: readonly NodeId[], base = 0): Message => {
  const at = r.offset + base
  const code = r.u8()
  const variant = byCode.get(code)
  if (!variant) throw new DecodeFailure(at, `unknown message type code ${code}`)
  const group = r.uvarint()
  const node = () => {
    const indexAt = r.offset
    const index = r.uvarint()
    const id = nodes[index]
    if (id === undefined) throw new DecodeFailure(indexAt, `node index ${index} outside the node table`)
    return id
  }
  const from = node()
  const to = node()
  const term = r.uvarint()
  const message: Record<string, unknown> = { type: variant.type, group, from, to, term }
  for (const [name, codec] of variant.body) message[name] = codec.read(r)
  return message as unknown as Message
}

export const decodeFrame = (frame: Uint8Array): Either.Either<Message[], FrameDecodeError> => {
  const r = new ByteReader(frame)
  try {
    const version = r.u8()
    if (version < LEGACY_FRAME_VERSION || version === 2)
      throw new DecodeFailure(0, `unsupported frame version ${version}`)
    const countAt = r.offset
    const nodeCount = r.uvarint()
    if (nodeCount > r.remaining) throw new DecodeFailure(countAt, `node count ${nodeCount} exceeds the frame`)
    const nodes: NodeId[] = []
    for (let i = 0; i < nodeCount; i++) nodes.push(r.string())
    const messages: Message[] = []
    if (version === LEGACY_FRAME_VERSION) {
      while (r.remaining > 0) messages.push(readMessage(r, nodes))
    } else {
      while (r.remaining > 0) {
        const m = readFramedMessage(r, nodes)
        if (m !== null) messages.push(m)
      }
    }
    return Either.right(messages)
  } catch (error) {
    if (error instanceof DecodeFailure) {
      return Either.left(new FrameDecodeError({ offset: error.offset, reason: error.reason }))
    }
    return Either.left(new FrameDecodeError({ offset: r.offset, reason: `unexpected: ${String(error)}` }))
  }
}
