/**
 * etcd v3 gRPC server: our own HTTP/2 connection (h2/connection.ts) on a Bun TCP listener, with
 * the generated codecs and etcd's own paths ("/etcdserverpb.KV/Range"), so no .proto file is
 * loaded at run time. It replaced @grpc/grpc-js on Bun's node:http2, which took a quarter of the
 * leader's CPU under load (docs/benchmarks.md, tenth pass); clients still use grpc-js.
 */
import { AsyncQueue } from "./async-queue.ts"
import { callContextOf } from "./call-context.ts"
import { EtcdError, GrpcCode, toEtcdError } from "./errors.ts"
import { H2Connection, type H2Socket, type H2Stream, type H2StreamHandler } from "./h2/connection.ts"
import { encodeHeaders, type HeaderList } from "./h2/hpack.ts"
import { servedRoutes } from "./instrument.ts"
import type { Route } from "./routes.ts"
import type { EtcdService } from "./service.ts"

/** etcd adds 512 KiB of gRPC overhead on top of --max-request-bytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024

const RESPONSE_HEADERS = encodeHeaders([
  [":status", "200"],
  ["content-type", "application/grpc"],
])
const OK_TRAILERS = encodeHeaders([["grpc-status", "0"]])

/** gRPC's percent-encoding of grpc-message: bytes outside printable ASCII, and '%'. */
const percentEncode = (message: string): string => {
  let out = ""
  for (const b of Buffer.from(message, "utf8")) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/** Trailers; before any response headers, a trailers-only response that carries :status too. */
const statusBlock = (code: number, message: string, trailersOnly: boolean): Uint8Array => {
  if (code === GrpcCode.OK && !trailersOnly) return OK_TRAILERS
  const status: Array<readonly [string, string]> = [["grpc-status", String(code)]]
  if (message.length > 0) status.push(["grpc-message", percentEncode(message)])
  return encodeHeaders(
    trailersOnly ? [[":status", "200"], ["content-type", "application/grpc"], ...status] : status,
  )
}

/** A response message with gRPC's 5-byte prefix (uncompressed, big-endian length). */
const lengthPrefixed = (message: Uint8Array): Uint8Array => {
  const out = new Uint8Array(5 + message.length)
  const n = message.length
  out[1] = (n >>> 24) & 0xff
  out[2] = (n >>> 16) & 0xff
  out[3] = (n >>> 8) & 0xff
  out[4] = n & 0xff
  out.set(message, 5)
  return out
}

const UNITS_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 }

/** grpc-timeout ("100m", "5S") in ms; undefined when absent or malformed. */
const timeoutMs = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const m = /^([0-9]{1,8})([HMSmun])$/.exec(value)
  return m === null ? undefined : Number(m[1]) * UNITS_MS[m[2]!]!
}

/** Unwraps a decoded request; a bad one is INTERNAL (grpc-go's unmarshal error) or too large. */
const decodeRequest = (svc: EtcdService, route: Route, bytes: Uint8Array): unknown => {
  let request: unknown
  try {
    request = route.method.request.decode(bytes)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new EtcdError(GrpcCode.INTERNAL, `grpc: error unmarshalling request: ${message}`)
  }
  svc.checkSize(bytes.length)
  return request
}

/** One gRPC call on one HTTP/2 stream. */
class GrpcCall implements H2StreamHandler {
  /** The 5-byte prefix of the next message, as far as it has arrived. */
  private readonly prefix = new Uint8Array(5)
  private prefixBytes = 0
  /** The message being received, and how much of it has arrived. */
  private body: Uint8Array | undefined
  private filled = 0
  private readonly messages: Uint8Array[] = []
  private requests: AsyncQueue<unknown> | undefined
  private abort: AbortController | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private cancelled = false
  private finished = false

  constructor(
    private readonly svc: EtcdService,
    private readonly route: Route,
    private readonly stream: H2Stream,
    private readonly metadata: ReadonlyMap<string, string>,
    private readonly maxReceive: number,
    deadlineMs: number | undefined,
  ) {
    if (deadlineMs !== undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.fail(new EtcdError(GrpcCode.DEADLINE_EXCEEDED, "Deadline exceeded"))
        this.cancel()
      }, deadlineMs)
    }
    if (route.kind === "bidiStream") {
      this.requests = new AsyncQueue<unknown>()
      this.pump(route.call(svc, this.requests, this.signal()))
    }
  }

  data(chunk: Uint8Array): void {
    let at = 0
    while (!this.finished && (at < chunk.length || this.body?.length === this.filled)) {
      if (this.body === undefined) {
        const n = Math.min(5 - this.prefixBytes, chunk.length - at)
        this.prefix.set(chunk.subarray(at, at + n), this.prefixBytes)
        this.prefixBytes += n
        at += n
        if (this.prefixBytes < 5) return
        this.prefixBytes = 0
        const p = this.prefix
        const length = p[1]! * 2 ** 24 + ((p[2]! << 16) | (p[3]! << 8) | p[4]!)
        if (length > this.maxReceive) {
          const max = this.maxReceive
          this.fail(
            new EtcdError(
              GrpcCode.RESOURCE_EXHAUSTED,
              `grpc: received message larger than max (${length} vs. ${max})`,
            ),
          )
          return
        }
        if (p[0] !== 0) {
          this.fail(new EtcdError(GrpcCode.UNIMPLEMENTED, "grpc: compressed messages are not supported"))
          return
        }
        // Its own buffer: decoded bytes fields point into it, and the socket may reuse the chunk.
        this.body = new Uint8Array(length)
        this.filled = 0
      }
      const n = Math.min(this.body.length - this.filled, chunk.length - at)
      this.body.set(chunk.subarray(at, at + n), this.filled)
      this.filled += n
      at += n
      if (this.filled === this.body.length) {
        const message = this.body
        this.body = undefined
        this.message(message)
      }
    }
  }

  end(): void {
    if (this.finished) return
    if (this.requests !== undefined) {
      this.requests.close()
      return
    }
    const bytes = this.messages[0]
    if (bytes === undefined || this.messages.length > 1) {
      this.fail(new EtcdError(GrpcCode.INTERNAL, "grpc: a unary request carries exactly one message"))
      return
    }
    try {
      const request = decodeRequest(this.svc, this.route, bytes)
      if (this.route.kind === "serverStream") {
        this.pump(this.route.call(this.svc, request, this.signal()))
        return
      }
      if (this.route.kind !== "unary") return
      const ctx = callContextOf(
        (name) => this.metadata.get(name),
        () => this.signal(),
      )
      this.route.call(this.svc, request, ctx).then(
        (res) => this.reply(res),
        (err) => this.fail(err),
      )
    } catch (err) {
      this.fail(err)
    }
  }

  reset(): void {
    this.cancel()
  }

  private message(bytes: Uint8Array): void {
    if (this.requests === undefined) {
      this.messages.push(bytes)
      return
    }
    try {
      this.requests.push(decodeRequest(this.svc, this.route, bytes))
    } catch (err) {
      // The handler sees the bad request as the request stream's error.
      this.requests.fail(err)
    }
  }

  /** Made only when a route asks for it (streams, Lock, Campaign): most unary calls never do. */
  private signal(): AbortSignal {
    this.abort ??= new AbortController()
    if (this.cancelled) this.abort.abort()
    return this.abort.signal
  }

  private cancel(): void {
    if (this.cancelled) return
    this.cancelled = true
    this.done()
    this.abort?.abort()
    this.requests?.close()
    // A pump waiting for window must wake up to see the cancellation.
    const drain = this.stream.onDrain
    this.stream.onDrain = undefined
    drain?.()
  }

  private done(): void {
    this.finished = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private reply(res: unknown): void {
    if (this.finished) return
    this.done()
    const bytes = lengthPrefixed(this.route.method.response.encode(res as never))
    this.stream.sendHeaders(RESPONSE_HEADERS)
    this.stream.sendData(bytes)
    this.stream.end(OK_TRAILERS)
  }

  private fail(err: unknown): void {
    if (this.finished) return
    this.done()
    const e = toEtcdError(err)
    this.stream.end(statusBlock(e.code, e.message, !this.stream.responded))
    this.abort?.abort()
    this.requests?.close()
  }

  /** Writes every response of a streaming call, waiting for HTTP/2 window as it goes. */
  private pump(responses: AsyncIterable<unknown>): void {
    const run = async () => {
      const it = responses[Symbol.asyncIterator]()
      try {
        while (!this.cancelled && !this.finished) {
          const next = await it.next()
          if (next.done || this.cancelled || this.finished) break
          this.stream.sendHeaders(RESPONSE_HEADERS)
          const bytes = lengthPrefixed(this.route.method.response.encode(next.value as never))
          if (!this.stream.sendData(bytes)) {
            await new Promise<void>((resolve) => {
              this.stream.onDrain = resolve
            })
          }
        }
      } finally {
        await it.return?.()
      }
      if (!this.cancelled && !this.finished) {
        this.done()
        this.stream.end(this.stream.responded ? OK_TRAILERS : statusBlock(GrpcCode.OK, "", true))
      }
    }
    run().catch((err) => this.fail(err))
  }
}

/** The request handler for every stream of every connection. */
const requestListener = (svc: EtcdService, routes: ReadonlyMap<string, Route>) => {
  const maxReceive = svc.maxRequestBytes + GRPC_OVERHEAD_BYTES
  return (stream: H2Stream, headers: HeaderList): H2StreamHandler => {
    let path: string | undefined
    let timeout: string | undefined
    const metadata = new Map<string, string>()
    for (const [name, value] of headers) {
      if (name === ":path") path = value
      else if (name === "grpc-timeout") timeout = value
      else if (name.charCodeAt(0) !== 0x3a && !metadata.has(name)) metadata.set(name, value)
    }
    const route = path === undefined ? undefined : routes.get(path)
    if (route === undefined) {
      stream.end(statusBlock(GrpcCode.UNIMPLEMENTED, `unknown method ${path ?? "(none)"}`, true))
      return IGNORE
    }
    return new GrpcCall(svc, route, stream, metadata, maxReceive, timeoutMs(timeout))
  }
}

const IGNORE: H2StreamHandler = { data: () => {}, end: () => {}, reset: () => {} }

export interface EtcdGrpcServerOptions {
  readonly service: EtcdService
  /** "127.0.0.1:2379"; port 0 picks a free port. */
  readonly address: string
  /** Told about an unexpected error in a call's handling, which closed that client's connection. */
  readonly onError?: (error: unknown) => void
}

export interface EtcdGrpcServer {
  readonly port: number
  /** Open client connections. */
  connections(): number
  /** Graceful: stops accepting, lets in-flight calls finish. */
  shutdown(): Promise<void>
  /** Immediate: cancels in-flight calls and closes every connection. */
  forceShutdown(): void
}

/** "host:port" or "[v6]:port" → hostname and port. */
const splitAddress = (address: string): { hostname: string; port: number } => {
  const at = address.lastIndexOf(":")
  const port = Number(address.slice(at + 1))
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad listen address "${address}": expected host:port`)
  }
  const host = address.slice(0, at)
  return { hostname: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host, port }
}

export const startEtcdGrpcServer = async (options: EtcdGrpcServerOptions): Promise<EtcdGrpcServer> => {
  const routes = new Map<string, Route>()
  // A method bound to several gateway paths is one gRPC method: the first route serves it.
  for (const r of servedRoutes(options.service)) if (!routes.has(r.method.path)) routes.set(r.method.path, r)
  const onRequest = requestListener(options.service, routes)
  const connections = new Set<H2Connection>()
  const { hostname, port } = splitAddress(options.address)
  const listener = Bun.listen<{ connection?: H2Connection }>({
    hostname,
    port,
    data: {},
    socket: {
      open(socket) {
        socket.setNoDelay(true)
        const raw: H2Socket = { write: (bytes) => socket.write(bytes), end: () => socket.end() }
        const connection = new H2Connection(raw, onRequest)
        connections.add(connection)
        connection.onClose = () => connections.delete(connection)
        connection.onError = options.onError
        socket.data = { connection }
      },
      data: (socket, chunk) => socket.data.connection?.received(chunk),
      drain: (socket) => socket.data.connection?.drained(),
      close: (socket) => socket.data.connection?.closed(),
      error: (socket) => socket.data.connection?.closed(),
    },
  })
  let stopped = false
  const stopListening = () => {
    if (stopped) return
    stopped = true
    listener.stop(false)
  }
  return {
    port: listener.port,
    connections: () => connections.size,
    shutdown: async () => {
      stopListening()
      const open = [...connections]
      await Promise.all(
        open.map(
          (c) =>
            new Promise<void>((resolve) => {
              const before = c.onClose
              c.onClose = () => {
                before?.()
                resolve()
              }
              c.goAway()
            }),
        ),
      )
    },
    forceShutdown: () => {
      stopListening()
      for (const c of [...connections]) c.destroy()
    },
  }
}
