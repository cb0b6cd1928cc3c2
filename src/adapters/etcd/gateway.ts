/**
 * etcd's JSON gateway (grpc-gateway v1 as shipped in etcd 3.4), as a fetch-style handler for
 * Bun.serve: `POST /v3/kv/range` etc. with the same bodies, status codes and headers as etcd.
 * Returns undefined for paths it does not serve, so the HTTP listener can try other handlers.
 */
import { callContextOf } from "./call-context.ts"
import { EtcdError, EtcdErrors, GrpcCode, httpStatusFromGrpcCode, toEtcdError } from "./errors.ts"
import { servedRoutes } from "./instrument.ts"
import { jsonValues } from "./json-stream.ts"
import { goQuote, JsonDecodeError } from "./proto/json.ts"
import type { Route } from "./routes.ts"
import type { EtcdService } from "./service.ts"

export type GatewayHandler = (req: Request) => Promise<Response> | undefined

const CORS: Record<string, string> = {
  "Access-Control-Allow-Headers": "accept, content-type, authorization",
  "Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
  "Access-Control-Allow-Origin": "*",
}
const JSON_HEADERS = {
  ...CORS,
  "Content-Type": "application/json",
  "Grpc-Metadata-Content-Type": "application/grpc",
}
const JSON_ERROR_HEADERS = { ...CORS, "Content-Type": "application/json" }
const TEXT_HEADERS = {
  ...CORS,
  "Content-Type": "text/plain; charset=utf-8",
  "X-Content-Type-Options": "nosniff",
}

const HTTP_STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  412: "Precondition Failed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
}

/** google.rpc.Status-style body grpc-gateway writes for a failed unary call. */
export const errorBody = (e: EtcdError): string => {
  const m = goQuote(e.message)
  return `{"error":${m},"message":${m},"code":${e.code}}`
}

/** The error frame grpc-gateway writes into a stream (runtime.StreamError). */
export const streamErrorFrame = (e: EtcdError): string => {
  const http = httpStatusFromGrpcCode(e.code)
  const fields = [`"grpc_code":${e.code}`, `"http_code":${http}`]
  if (e.message !== "") fields.push(`"message":${goQuote(e.message)}`)
  fields.push(`"http_status":${goQuote(HTTP_STATUS_TEXT[http] ?? "")}`)
  return `{"error":{${fields.join(",")}}}\n`
}

const errorResponse = (err: unknown): Response => {
  const e = toEtcdError(err)
  return new Response(errorBody(e), { status: httpStatusFromGrpcCode(e.code), headers: JSON_ERROR_HEADERS })
}

/** Go's encoding/json wording for the common syntax errors, so clients see etcd's messages. */
const jsonSyntaxMessage = (text: string): string => {
  const trimmed = text.trimEnd()
  try {
    JSON.parse(`${trimmed}`)
  } catch {
    // Find the first character that cannot start a value, else it ended early.
    const first = trimmed.trimStart()[0]
    if (first !== undefined && !'{["-0123456789tfn'.includes(first)) {
      return `invalid character '${first}' looking for beginning of value`
    }
  }
  return "unexpected EOF"
}

/**
 * JSON with base64 bytes is at most ~4/3 of the binary size plus field names; a body beyond this
 * multiple of --max-request-bytes is refused before it is read.
 */
const MAX_JSON_EXPANSION = 4

/** Parses the request body; empty and "null" mean the empty message, as in grpc-gateway. */
const parseBody = async (svc: EtcdService, req: Request, route: Route): Promise<unknown> => {
  const declared = Number(req.headers.get("content-length") ?? "0")
  if (declared > svc.maxRequestBytes * MAX_JSON_EXPANSION) throw EtcdErrors.requestTooLarge()
  const text = await req.text()
  if (text.length > svc.maxRequestBytes * MAX_JSON_EXPANSION) throw EtcdErrors.requestTooLarge()
  if (text.trim() === "") return route.method.request.fromJson({})
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new EtcdError(GrpcCode.INVALID_ARGUMENT, jsonSyntaxMessage(text))
  }
  if (Array.isArray(value)) {
    throw new EtcdError(
      GrpcCode.INVALID_ARGUMENT,
      "json: cannot unmarshal array into Go value of type map[string]json.RawMessage",
    )
  }
  try {
    return route.method.request.fromJson(value)
  } catch (err) {
    if (err instanceof JsonDecodeError) throw new EtcdError(GrpcCode.INVALID_ARGUMENT, err.message)
    throw err
  }
}

const unary = async (svc: EtcdService, route: Route & { kind: "unary" }, req: Request): Promise<Response> => {
  try {
    const request = await parseBody(svc, req, route)
    svc.checkSize(route.method.request.encode(request).length)
    const res = await route.call(
      svc,
      request,
      callContextOf((name) => req.headers.get(name) ?? undefined, req.signal),
    )
    return new Response(route.method.response.toJson(res), { status: 200, headers: JSON_HEADERS })
  } catch (err) {
    return errorResponse(err)
  }
}

/**
 * Streams `{"result":…}` frames. The first response is awaited before answering, so an error
 * that happens before anything is written also sets the HTTP status, as grpc-gateway does.
 */
const streamResponses = async (
  route: Route,
  start: (signal: AbortSignal) => Promise<AsyncIterable<unknown>>,
): Promise<Response> => {
  let it: AsyncIterator<unknown>
  let first: IteratorResult<unknown>
  const abort = new AbortController()
  try {
    it = (await start(abort.signal))[Symbol.asyncIterator]()
    first = await it.next()
  } catch (err) {
    const e = toEtcdError(err)
    return new Response(streamErrorFrame(e), {
      status: httpStatusFromGrpcCode(e.code),
      headers: JSON_HEADERS,
    })
  }
  const encoder = new TextEncoder()
  const frame = (m: unknown) => encoder.encode(`{"result":${route.method.response.toJson(m)}}\n`)
  let pending: IteratorResult<unknown> | undefined = first
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = pending ?? (await it.next())
        pending = undefined
        if (next.done) controller.close()
        else controller.enqueue(frame(next.value))
      } catch (err) {
        controller.enqueue(encoder.encode(streamErrorFrame(toEtcdError(err))))
        controller.close()
      }
    },
    async cancel() {
      // The client went away: stop the call even if it is waiting for its next response.
      abort.abort()
      await it.return?.()
    },
  })
  return new Response(body, { status: 200, headers: JSON_HEADERS })
}

const serverStream = (svc: EtcdService, route: Route & { kind: "serverStream" }, req: Request) =>
  streamResponses(route, async (signal) => {
    const request = await parseBody(svc, req, route)
    svc.checkSize(route.method.request.encode(request).length)
    return route.call(svc, request, signal)
  })

/** A bidi stream over HTTP/1: the body is a sequence of JSON requests, read as they arrive. */
const bidiStream = (svc: EtcdService, route: Route & { kind: "bidiStream" }, req: Request) =>
  streamResponses(route, async (signal) => {
    async function* requests(): AsyncGenerator<unknown> {
      if (req.body === null) return
      for await (const value of jsonValues(req.body)) {
        let request: unknown
        try {
          request = route.method.request.fromJson(value)
        } catch (err) {
          if (err instanceof JsonDecodeError) throw new EtcdError(GrpcCode.INVALID_ARGUMENT, err.message)
          throw err
        }
        svc.checkSize(route.method.request.encode(request).length)
        yield request
      }
    }
    return route.call(svc, requests(), signal)
  })

export const createEtcdGateway = (svc: EtcdService): GatewayHandler => {
  const byPath = new Map<string, Route>()
  for (const r of servedRoutes(svc)) {
    if (r.gatewayPath === undefined) continue
    byPath.set(r.gatewayPath, r)
    // etcd 3.4 still serves the deprecated /v3beta prefix with the same handlers.
    byPath.set(r.gatewayPath.replace(/^\/v3\//, "/v3beta/"), r)
  }
  return (req) => {
    const route = byPath.get(new URL(req.url).pathname)
    if (route === undefined) return undefined
    if (req.method === "OPTIONS") return Promise.resolve(new Response(null, { status: 200, headers: CORS }))
    if (req.method !== "POST") {
      return Promise.resolve(new Response("Method Not Allowed\n", { status: 405, headers: TEXT_HEADERS }))
    }
    if (route.kind === "unary") return unary(svc, route, req)
    return route.kind === "serverStream" ? serverStream(svc, route, req) : bidiStream(svc, route, req)
  }
}
