/**
 * Envelopes for request-reply, identical over NATS and in memory:
 *
 *   request: [version=1][from: string][payload: bytes]
 *   reply:   [version=1][status: 0 ok | 1 handler failed][body: bytes (payload) | string (message)]
 *
 * Strings and bytes are varint-length-prefixed (see bytes.ts). Mixed versions: a newer release
 * may only append fields, so an envelope with a higher version decodes with what follows the
 * known fields ignored; the same version must have no trailing bytes.
 */
import { Either } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { ByteReader, ByteWriter, DecodeFailure } from "./bytes.ts"
import { FrameDecodeError } from "./errors.ts"

export const RPC_VERSION = 1

export interface RpcRequest {
  readonly from: NodeId
  readonly payload: Uint8Array
}

export type RpcReply =
  | { readonly status: "ok"; readonly payload: Uint8Array }
  | { readonly status: "failed"; readonly message: string }

export const encodeRequest = (request: RpcRequest): Uint8Array => {
  const w = new ByteWriter(16 + request.payload.length)
  w.u8(RPC_VERSION)
  w.string(request.from)
  w.bytes(request.payload)
  return w.finish()
}

export const encodeReply = (reply: RpcReply): Uint8Array => {
  const w = new ByteWriter(reply.status === "ok" ? 8 + reply.payload.length : 64)
  w.u8(RPC_VERSION)
  if (reply.status === "ok") {
    w.u8(0)
    w.bytes(reply.payload)
  } else {
    w.u8(1)
    w.string(reply.message)
  }
  return w.finish()
}

const decodeWith = <A>(bytes: Uint8Array, read: (r: ByteReader) => A): Either.Either<A, FrameDecodeError> => {
  const r = new ByteReader(bytes)
  try {
    const version = r.u8()
    if (version < RPC_VERSION) throw new DecodeFailure(0, `unsupported rpc version ${version}`)
    const value = read(r)
    if (r.remaining !== 0 && version === RPC_VERSION)
      throw new DecodeFailure(r.offset, `${r.remaining} trailing bytes`)
    return Either.right(value)
  } catch (error) {
    if (error instanceof DecodeFailure)
      return Either.left(new FrameDecodeError({ offset: error.offset, reason: error.reason }))
    return Either.left(new FrameDecodeError({ offset: r.offset, reason: String(error) }))
  }
}

export const decodeRequest = (bytes: Uint8Array): Either.Either<RpcRequest, FrameDecodeError> =>
  decodeWith(bytes, (r) => ({ from: r.string(), payload: r.bytes() }))

export const decodeReply = (bytes: Uint8Array): Either.Either<RpcReply, FrameDecodeError> =>
  decodeWith(bytes, (r): RpcReply => {
    const status = r.u8()
    if (status === 0) return { status: "ok", payload: r.bytes() }
    if (status === 1) return { status: "failed", message: r.string() }
    throw new DecodeFailure(1, `unknown reply status ${status}`)
  })
