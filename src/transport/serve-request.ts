/**
 * The server side of one request, shared by both transports: decode the request envelope, run
 * the handler, encode the reply. It never fails: a bad envelope, a handler failure or a defect
 * all become a `failed` reply the caller sees as `RemoteHandlerFailed`.
 */
import { Cause, Effect, Either } from "effect"
import { decodeRequest, encodeReply } from "./rpc-frame.ts"
import type { RequestHandler } from "./transport.ts"

export const serveRequest = (
  handler: RequestHandler,
  requestBytes: Uint8Array,
): Effect.Effect<Uint8Array> => {
  const request = decodeRequest(requestBytes)
  if (Either.isLeft(request)) {
    return Effect.succeed(
      encodeReply({ status: "failed", message: `bad request frame: ${request.left.reason}` }),
    )
  }
  return Effect.suspend(() => handler(request.right.payload, request.right.from)).pipe(
    Effect.map((payload) => encodeReply({ status: "ok", payload })),
    Effect.catchAllCause((cause) =>
      Effect.succeed(
        encodeReply({ status: "failed", message: Cause.pretty(cause).split("\n")[0] ?? "failed" }),
      ),
    ),
  )
}
