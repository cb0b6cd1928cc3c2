/** Shapes shared by the generated etcd codecs and the servers that use them. */

/** Binary and JSON codec of one protobuf message type. */
export interface MessageCodec<T> {
  /** Fully-qualified protobuf name, e.g. "etcdserverpb.RangeRequest". */
  readonly typeName: string
  readonly encode: (message: T) => Uint8Array
  readonly decode: (bytes: Uint8Array) => T
  /** etcd grpc-gateway JSON, exactly as etcd 3.4 writes it. */
  readonly toJson: (message: T) => string
  /** From an already-parsed JSON value (see json.ts for what is accepted). */
  readonly fromJson: (value: unknown) => T
}

/** One RPC of a service, with the gRPC path and both codecs. */
export interface MethodDescriptor<Req, Res> {
  readonly service: string
  readonly name: string
  /** e.g. "/etcdserverpb.KV/Range" */
  readonly path: string
  readonly requestStream: boolean
  readonly responseStream: boolean
  readonly request: MessageCodec<Req>
  readonly response: MessageCodec<Res>
}
