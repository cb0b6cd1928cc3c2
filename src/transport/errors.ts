/**
 * Typed failures of the transport. Raft sends never fail (fire-and-forget); only
 * request-reply and decoding report errors, and always through these types.
 */
import { Schema } from "effect"

/** This node cannot reach the network right now (NATS disconnected, reconnecting or closed). */
export class PeerUnreachable extends Schema.TaggedError<PeerUnreachable>()("PeerUnreachable", {
  to: Schema.String,
  reason: Schema.String,
}) {}

/** The request was sent but no reply came back in time (lost request, lost reply, slow or partitioned peer). */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()("RequestTimeout", {
  to: Schema.String,
  service: Schema.String,
  timeoutMillis: Schema.Number,
}) {}

/** Nobody serves that service on that node (the node is down or has not registered the handler). */
export class NoResponders extends Schema.TaggedError<NoResponders>()("NoResponders", {
  to: Schema.String,
  service: Schema.String,
}) {}

/** The remote handler failed; its message is carried back. Application errors belong in the payload. */
export class RemoteHandlerFailed extends Schema.TaggedError<RemoteHandlerFailed>()("RemoteHandlerFailed", {
  to: Schema.String,
  service: Schema.String,
  message: Schema.String,
}) {}

export type RequestError = PeerUnreachable | RequestTimeout | NoResponders | RemoteHandlerFailed

/** A received frame that is not a valid encoding (garbage, truncated, unknown version or tag). */
export class FrameDecodeError extends Schema.TaggedError<FrameDecodeError>()("FrameDecodeError", {
  offset: Schema.Number,
  reason: Schema.String,
}) {}

/** A subject token (cluster, node id, service) that NATS cannot carry. */
export class InvalidSubjectToken extends Schema.TaggedError<InvalidSubjectToken>()("InvalidSubjectToken", {
  kind: Schema.String,
  value: Schema.String,
}) {}

/** The first connection to NATS failed; `hint` says what the operator should check. */
export class TransportConnectFailed extends Schema.TaggedError<TransportConnectFailed>()(
  "TransportConnectFailed",
  { servers: Schema.Array(Schema.String), reason: Schema.String, hint: Schema.String },
) {}

/** Two in-memory transports tried to attach the same node id to one network. */
export class NodeAlreadyAttached extends Schema.TaggedError<NodeAlreadyAttached>()("NodeAlreadyAttached", {
  node: Schema.String,
}) {}
