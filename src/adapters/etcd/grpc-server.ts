/**
 * etcd v3 gRPC server on @grpc/grpc-js: a hand-built ServiceDefinition per etcd service, with
 * the generated codecs as (de)serializers, so paths are etcd's own ("/etcdserverpb.KV/Range")
 * and no .proto file is loaded at run time.
 */
import * as grpc from "@grpc/grpc-js"
import { callContextOf } from "./call-context.ts"
import { EtcdError, GrpcCode, toEtcdError } from "./errors.ts"
import { servedRoutes } from "./instrument.ts"
import type { Route } from "./routes.ts"
import type { EtcdService } from "./service.ts"

/** What the deserializer hands to a handler: the decoded request, or why decoding failed. */
type Incoming =
  | { readonly size: number; readonly request: unknown }
  | { readonly size: number; readonly error: Error }

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length)

const grpcStatus = (err: unknown): Partial<grpc.StatusObject> => {
  const e = toEtcdError(err)
  return { code: e.code as number as grpc.status, details: e.message }
}

/** Unwraps the incoming request; a bad one becomes INTERNAL (grpc-go's unmarshal error) or too-large. */
const accept = (svc: EtcdService, incoming: Incoming): unknown => {
  if ("error" in incoming) {
    throw new EtcdError(GrpcCode.INTERNAL, `grpc: error unmarshalling request: ${incoming.error.message}`)
  }
  svc.checkSize(incoming.size)
  return incoming.request
}

const methodDefinition = (route: Route): grpc.MethodDefinition<Incoming, unknown> => ({
  path: route.method.path,
  requestStream: route.method.requestStream,
  responseStream: route.method.responseStream,
  originalName: route.method.name,
  requestSerialize: () => {
    throw new Error("server-side definition: requests are never serialized")
  },
  requestDeserialize: (buf: Buffer): Incoming => {
    try {
      return { size: buf.length, request: route.method.request.decode(buf) }
    } catch (error) {
      return { size: buf.length, error: error instanceof Error ? error : new Error(String(error)) }
    }
  },
  responseSerialize: (res: unknown) => toBuffer(route.method.response.encode(res)),
  responseDeserialize: () => {
    throw new Error("server-side definition: responses are never deserialized")
  },
})

const unaryHandler =
  (svc: EtcdService, route: Route & { kind: "unary" }): grpc.handleUnaryCall<Incoming, unknown> =>
  (call, callback) => {
    let pending: Promise<unknown>
    // Made only when the route asks for it (Lock, Campaign): most calls never do.
    const signal = () => {
      const abort = new AbortController()
      if (call.cancelled) abort.abort()
      else call.once("cancelled", () => abort.abort())
      return abort.signal
    }
    try {
      const ctx = callContextOf((name) => {
        const v = call.metadata.get(name)[0]
        return v === undefined ? undefined : String(v)
      }, signal)
      pending = route.call(svc, accept(svc, call.request), ctx)
    } catch (err) {
      callback(grpcStatus(err))
      return
    }
    pending.then(
      (res) => callback(null, res),
      (err) => callback(grpcStatus(err)),
    )
  }

/** Writes every response of `responses` to a server-streaming or bidi call, with flow control. */
const pump = (
  call: grpc.ServerWritableStream<Incoming, unknown> | grpc.ServerDuplexStream<Incoming, unknown>,
  responses: (signal: AbortSignal) => AsyncIterable<unknown>,
): void => {
  let cancelled = false
  const abort = new AbortController()
  call.on("cancelled", () => {
    cancelled = true
    abort.abort()
  })
  const run = async () => {
    const it = responses(abort.signal)[Symbol.asyncIterator]()
    try {
      while (!cancelled) {
        const next = await it.next()
        if (next.done) break
        // Respect HTTP/2 flow control: wait for the stream to drain before producing more.
        if (!call.write(next.value)) await new Promise<void>((resolve) => call.once("drain", resolve))
      }
    } finally {
      await it.return?.()
    }
    if (!cancelled) call.end()
  }
  run().catch((err) => {
    if (!cancelled) call.emit("error", grpcStatus(err))
  })
}

const streamHandler =
  (
    svc: EtcdService,
    route: Route & { kind: "serverStream" },
  ): grpc.handleServerStreamingCall<Incoming, unknown> =>
  (call) =>
    pump(call, (signal) => route.call(svc, accept(svc, call.request), signal))

const bidiHandler =
  (
    svc: EtcdService,
    route: Route & { kind: "bidiStream" },
  ): grpc.handleBidiStreamingCall<Incoming, unknown> =>
  (call) => {
    async function* requests(): AsyncGenerator<unknown> {
      for await (const incoming of call as AsyncIterable<Incoming>) yield accept(svc, incoming)
    }
    pump(call, (signal) => route.call(svc, requests(), signal))
  }

/** Groups the routes into one ServiceDefinition + implementation per gRPC service. */
export const addEtcdServices = (server: grpc.Server, svc: EtcdService): void => {
  const byService = new Map<string, Route[]>()
  const seen = new Set<string>()
  for (const r of servedRoutes(svc)) {
    // A method bound to several gateway paths is one gRPC method.
    if (seen.has(r.method.path)) continue
    seen.add(r.method.path)
    byService.set(r.method.service, [...(byService.get(r.method.service) ?? []), r])
  }
  for (const routes of byService.values()) {
    const definition: Record<string, grpc.MethodDefinition<Incoming, unknown>> = {}
    const impl: grpc.UntypedServiceImplementation = {}
    for (const r of routes) {
      definition[r.method.name] = methodDefinition(r)
      impl[r.method.name] =
        r.kind === "unary"
          ? unaryHandler(svc, r)
          : r.kind === "serverStream"
            ? streamHandler(svc, r)
            : bidiHandler(svc, r)
    }
    server.addService(definition as grpc.ServiceDefinition, impl)
  }
}

export interface EtcdGrpcServerOptions {
  readonly service: EtcdService
  /** "127.0.0.1:2379"; port 0 picks a free port. */
  readonly address: string
  readonly credentials?: grpc.ServerCredentials
}

export interface EtcdGrpcServer {
  readonly server: grpc.Server
  readonly port: number
  /** Graceful: stops accepting, lets in-flight calls finish. */
  shutdown(): Promise<void>
  /** Immediate: cancels in-flight calls. */
  forceShutdown(): void
}

/** etcd adds 512 KiB of gRPC overhead on top of --max-request-bytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024

export const startEtcdGrpcServer = async (options: EtcdGrpcServerOptions): Promise<EtcdGrpcServer> => {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.service.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": 2 ** 31 - 1,
  })
  addEtcdServices(server, options.service)
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      options.address,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  )
  return {
    server,
    port,
    shutdown: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceShutdown: () => server.forceShutdown(),
  }
}
