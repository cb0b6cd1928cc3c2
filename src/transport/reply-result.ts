/** Turns the bytes of a reply into the caller's result, shared by both transports. */
import { Effect, Either } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { RemoteHandlerFailed } from "./errors.ts"
import { decodeReply } from "./rpc-frame.ts"

export const replyResult = (
  to: NodeId,
  service: string,
  replyBytes: Uint8Array,
): Effect.Effect<Uint8Array, RemoteHandlerFailed> => {
  const reply = decodeReply(replyBytes)
  if (Either.isLeft(reply)) {
    return Effect.fail(
      new RemoteHandlerFailed({ to, service, message: `bad reply frame: ${reply.left.reason}` }),
    )
  }
  return reply.right.status === "ok"
    ? Effect.succeed(reply.right.payload)
    : Effect.fail(new RemoteHandlerFailed({ to, service, message: reply.right.message }))
}
