/**
 * Request-reply forwarding of writes from a follower to its group's leader over the Transport
 * (service "kv-propose"). Request: u32 group | encoded KvCommand. Reply: 0 | encoded KvOutcome
 * (nothing for a non-KV entry), or 1 | JSON failure {tag, leader, reason}.
 */

import {
  LeaderChanged,
  NotLeader,
  Overloaded,
  ReadUnavailable,
  ReplicaStopped,
  type RequestFailure,
} from "../../actors/errors.ts"
import type { KvOutcome } from "../../schemas/kv.ts"
import type { GroupId, NodeId } from "../../schemas/raft.ts"
import { decodeOutcome, encodeOutcome } from "../kv/codec.ts"

export const FORWARD_SERVICE = "kv-propose"

/**
 * A request id (for the logs on both nodes) rides after the group when the group's top bit is
 * set: u32 group|0x80000000 | u16 length | UTF-8 id | command. A node that predates it reads a
 * group it does not run and answers "group not running" (the write fails, never misapplies).
 */
const HAS_REQUEST_ID = 0x8000_0000

export const encodeForwardRequest = (group: GroupId, data: Uint8Array, requestId?: string): Uint8Array => {
  const id = requestId === undefined ? null : new TextEncoder().encode(requestId.slice(0, 200))
  const head = id === null ? 4 : 6 + id.length
  const out = new Uint8Array(head + data.length)
  const view = new DataView(out.buffer)
  if (id === null) view.setUint32(0, group)
  else {
    view.setUint32(0, (group | HAS_REQUEST_ID) >>> 0)
    view.setUint16(4, id.length)
    out.set(id, 6)
  }
  out.set(data, head)
  return out
}

export const decodeForwardRequest = (
  bytes: Uint8Array,
): { group: GroupId; data: Uint8Array; requestId: string | null } => {
  if (bytes.length < 4) throw new Error("forward request: too short")
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  const word = view.getUint32(0)
  if ((word & HAS_REQUEST_ID) === 0) return { group: word, data: bytes.subarray(4), requestId: null }
  if (bytes.length < 6) throw new Error("forward request: too short")
  const n = view.getUint16(4)
  if (bytes.length < 6 + n) throw new Error("forward request: truncated request id")
  return {
    group: word & ~HAS_REQUEST_ID,
    data: bytes.subarray(6 + n),
    requestId: new TextDecoder().decode(bytes.subarray(6, 6 + n)),
  }
}

export const encodeForwardOk = (outcome: KvOutcome | null): Uint8Array => {
  const body = outcome === null ? new Uint8Array(0) : encodeOutcome(outcome)
  const out = new Uint8Array(1 + body.length)
  out.set(body, 1)
  return out
}

export const encodeForwardFailure = (failure: RequestFailure): Uint8Array => {
  const json = JSON.stringify({
    tag: failure._tag,
    leader: failure._tag === "NotLeader" ? failure.leader : null,
    reason: "reason" in failure ? failure.reason : null,
    index: failure._tag === "LeaderChanged" ? failure.index : 0,
  })
  const body = new TextEncoder().encode(json)
  const out = new Uint8Array(1 + body.length)
  out[0] = 1
  out.set(body, 1)
  return out
}

export type ForwardReply = { ok: true; outcome: KvOutcome | null } | { ok: false; failure: RequestFailure }

export const decodeForwardReply = (bytes: Uint8Array): ForwardReply => {
  if (bytes.length === 0) throw new Error("forward reply: empty")
  if (bytes[0] === 0) {
    return { ok: true, outcome: bytes.length === 1 ? null : decodeOutcome(bytes.subarray(1)) }
  }
  const f = JSON.parse(new TextDecoder().decode(bytes.subarray(1))) as {
    tag: RequestFailure["_tag"]
    leader: NodeId | null
    reason: string | null
    index: number
  }
  const failure: RequestFailure =
    f.tag === "NotLeader"
      ? new NotLeader({ leader: f.leader })
      : f.tag === "LeaderChanged"
        ? new LeaderChanged({ index: f.index })
        : f.tag === "ReadUnavailable"
          ? new ReadUnavailable({ reason: f.reason ?? "unknown" })
          : f.tag === "Overloaded"
            ? new Overloaded()
            : new ReplicaStopped({ reason: f.reason ?? "stopped" })
  return { ok: false, failure }
}
