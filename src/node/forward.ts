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

export const encodeForwardRequest = (group: GroupId, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + data.length)
  new DataView(out.buffer).setUint32(0, group)
  out.set(data, 4)
  return out
}

export const decodeForwardRequest = (bytes: Uint8Array): { group: GroupId; data: Uint8Array } => {
  if (bytes.length < 4) throw new Error("forward request: too short")
  return { group: new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0), data: bytes.subarray(4) }
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
