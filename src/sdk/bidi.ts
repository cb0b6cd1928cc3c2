/** A grpc-js bidi call as `write` + an async iterator of responses (the adapter's AsyncQueue). */
import type * as grpc from "@grpc/grpc-js"
import { AsyncQueue } from "../adapters/etcd/async-queue.ts"
import type { MethodDescriptor } from "../adapters/etcd/proto/descriptor.ts"
import { toClientError } from "./errors.ts"

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length)

export interface BidiStream<Req, Res> extends AsyncIterable<Res> {
  readonly endpoint: string
  write(req: Req): void
  /** Ends the call from our side; the iterator finishes. */
  cancel(): void
}

/** Opens `method` on `channel`; failures end the iteration with a LatticeClientError. */
export const openBidi = <Req, Res>(
  channel: grpc.Client,
  endpoint: string,
  method: MethodDescriptor<Req, Res>,
): BidiStream<Req, Res> => {
  const call = channel.makeBidiStreamRequest(
    method.path,
    (m: Req) => toBuffer(method.request.encode(m)),
    (b: Buffer) => method.response.decode(b),
  )
  const queue = new AsyncQueue<Res>()
  let cancelled = false
  call.on("data", (r: Res) => queue.push(r))
  call.on("error", (e) => (cancelled ? queue.close() : queue.fail(toClientError(e, endpoint))))
  call.on("end", () => queue.close())
  return {
    endpoint,
    write: (req) => {
      if (!cancelled) call.write(req)
    },
    cancel: () => {
      cancelled = true
      call.cancel()
      queue.close()
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  }
}

/** Opens a server-streaming `method` on `channel`; failures end the iteration with a LatticeClientError. */
export const openServerStream = <Req, Res>(
  channel: grpc.Client,
  endpoint: string,
  method: MethodDescriptor<Req, Res>,
  req: Req,
): BidiStream<never, Res> => {
  const call = channel.makeServerStreamRequest(
    method.path,
    (m: Req) => toBuffer(method.request.encode(m)),
    (b: Buffer) => method.response.decode(b),
    req,
  )
  const queue = new AsyncQueue<Res>()
  let cancelled = false
  call.on("data", (r: Res) => queue.push(r))
  call.on("error", (e) => (cancelled ? queue.close() : queue.fail(toClientError(e, endpoint))))
  call.on("end", () => queue.close())
  return {
    endpoint,
    write: () => {},
    cancel: () => {
      cancelled = true
      call.cancel()
      queue.close()
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  }
}
