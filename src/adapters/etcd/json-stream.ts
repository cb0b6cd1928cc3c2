/**
 * Splits a byte stream of concatenated JSON values (`{…}{…}` or newline-separated), as
 * grpc-gateway's json.Decoder reads the body of a client-streaming call, yielding each parsed
 * value as soon as it is complete.
 */
import { EtcdError, GrpcCode } from "./errors.ts"

export async function* jsonValues(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder()
  let buf = ""
  let depth = 0
  let inString = false
  let escaped = false
  let start = -1
  let scanned = 0
  const take = function* (): Generator<unknown> {
    for (let i = scanned; i < buf.length; i++) {
      const c = buf[i]!
      if (inString) {
        if (escaped) escaped = false
        else if (c === "\\") escaped = true
        else if (c === '"') inString = false
        continue
      }
      if (c === '"') inString = true
      else if (c === "{" || c === "[") {
        if (depth === 0) start = i
        depth++
      } else if (c === "}" || c === "]") {
        depth--
        if (depth === 0) {
          const text = buf.slice(start, i + 1)
          try {
            yield JSON.parse(text)
          } catch {
            throw new EtcdError(GrpcCode.INVALID_ARGUMENT, "unexpected EOF")
          }
          buf = buf.slice(i + 1)
          i = -1
          start = -1
        }
      } else if (depth === 0 && !/\s/.test(c)) {
        throw new EtcdError(
          GrpcCode.INVALID_ARGUMENT,
          `invalid character '${c}' looking for beginning of value`,
        )
      }
    }
    scanned = buf.length
  }
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true })
    yield* take()
  }
  buf += decoder.decode()
  yield* take()
  if (depth !== 0) throw new EtcdError(GrpcCode.INVALID_ARGUMENT, "unexpected EOF")
}
