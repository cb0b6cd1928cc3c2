import { describe, expect, test } from "bun:test"
import {
  H2Connection,
  type H2Socket,
  type H2Stream,
  type H2StreamHandler,
} from "../../../../src/adapters/etcd/h2/connection.ts"
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  FrameType,
  frame,
  settingsFrame,
  windowUpdateFrame,
} from "../../../../src/adapters/etcd/h2/frames.ts"
import { encodeHeaders, HpackDecoder } from "../../../../src/adapters/etcd/h2/hpack.ts"

interface Frame {
  readonly type: number
  readonly flags: number
  readonly stream: number
  readonly payload: Uint8Array
}

/** A socket that records what the server writes, and takes at most `capacity` bytes per write. */
class FakeSocket implements H2Socket {
  written: number[] = []
  ended = false
  capacity = Number.POSITIVE_INFINITY
  write(bytes: Uint8Array): number {
    if (this.ended) return -1
    const n = Math.min(bytes.length, this.capacity)
    for (let i = 0; i < n; i++) this.written.push(bytes[i]!)
    return n
  }
  end(): void {
    this.ended = true
  }
  /** Every complete frame written so far (consumed). */
  frames(): Frame[] {
    const out: Frame[] = []
    const b = Uint8Array.from(this.written)
    let at = 0
    while (b.length - at >= 9) {
      const length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!
      if (b.length - at < 9 + length) break
      const stream = ((b[at + 5]! & 0x7f) << 24) | (b[at + 6]! << 16) | (b[at + 7]! << 8) | b[at + 8]!
      out.push({ type: b[at + 3]!, flags: b[at + 4]!, stream, payload: b.slice(at + 9, at + 9 + length) })
      at += 9 + length
    }
    this.written = this.written.slice(at)
    return out
  }
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0))

interface Recorded {
  readonly stream: H2Stream
  readonly headers: Array<readonly [string, string]>
  data: number
  ended: boolean
  reset: boolean
}

const setup = () => {
  const socket = new FakeSocket()
  const streams: Recorded[] = []
  const connection = new H2Connection(socket, (stream, headers): H2StreamHandler => {
    const r: Recorded = { stream, headers, data: 0, ended: false, reset: false }
    streams.push(r)
    return {
      data: (chunk) => {
        r.data += chunk.length
      },
      end: () => {
        r.ended = true
      },
      reset: () => {
        r.reset = true
      },
    }
  })
  const send = (...frames: Uint8Array[]) => {
    for (const f of frames) connection.received(f)
  }
  return { socket, streams, connection, send }
}

const request = (id: number, endStream: boolean) =>
  frame(
    FrameType.HEADERS,
    Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0),
    id,
    encodeHeaders([
      [":method", "POST"],
      [":path", "/etcdserverpb.KV/Range"],
      ["x-request-id", "abc"],
    ]),
  )

describe("HTTP/2 server connection", () => {
  test("preface, SETTINGS acknowledged, a request's headers and data reach its handler", async () => {
    const { socket, streams, send } = setup()
    send(
      CLIENT_PREFACE,
      settingsFrame([]),
      request(1, false),
      frame(FrameType.DATA, Flag.END_STREAM, 1, new Uint8Array(10)),
    )
    await turn()
    const out = socket.frames()
    expect(out[0]!.type).toBe(FrameType.SETTINGS)
    expect(out.some((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK)).toBe(true)
    expect(streams).toHaveLength(1)
    expect(streams[0]!.headers).toContainEqual(["x-request-id", "abc"])
    expect(streams[0]!.data).toBe(10)
    expect(streams[0]!.ended).toBe(true)
  })

  test("a response larger than the client's window waits for WINDOW_UPDATE; trailers come after all data", async () => {
    const { socket, streams, send } = setup()
    send(CLIENT_PREFACE, settingsFrame([]), request(1, true))
    await turn()
    socket.frames()
    const s = streams[0]!.stream
    s.sendHeaders(encodeHeaders([[":status", "200"]]))
    let drained = false
    expect(s.sendData(new Uint8Array(100_000))).toBe(false)
    s.onDrain = () => {
      drained = true
    }
    s.end(encodeHeaders([["grpc-status", "0"]]))
    await turn()
    const first = socket.frames()
    const sent = first.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0)
    // The default window is 65,535 for the stream and for the connection, in frames of ≤ 16,384.
    expect(sent).toBe(65_535)
    expect(first.every((f) => f.payload.length <= 16_384)).toBe(true)
    expect(first.some((f) => f.flags & Flag.END_STREAM)).toBe(false)
    // More window on the stream alone is not enough: the connection's is spent too.
    send(windowUpdateFrame(1, 50_000))
    await turn()
    expect(socket.frames().filter((f) => f.type === FrameType.DATA)).toHaveLength(0)
    send(windowUpdateFrame(0, 50_000))
    await turn()
    const rest = socket.frames()
    expect(rest.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0)).toBe(
      34_465,
    )
    const last = rest.at(-1)!
    expect(last.type).toBe(FrameType.HEADERS)
    expect(last.flags & Flag.END_STREAM).toBe(Flag.END_STREAM)
    expect(new HpackDecoder().decode(last.payload)).toEqual([["grpc-status", "0"]])
    expect(drained).toBe(true)
  })

  test("a larger initial window from the client's SETTINGS applies to open streams", async () => {
    const { socket, streams, send } = setup()
    send(CLIENT_PREFACE, settingsFrame([]), windowUpdateFrame(0, 1_000_000), request(1, true))
    await turn()
    socket.frames()
    expect(streams[0]!.stream.sendData(new Uint8Array(80_000))).toBe(false)
    send(settingsFrame([[0x4, 100_000]]))
    await turn()
    const sent = socket
      .frames()
      .filter((f) => f.type === FrameType.DATA)
      .reduce((n, f) => n + f.payload.length, 0)
    expect(sent).toBe(80_000)
  })

  test("PING is answered with the same payload; CONTINUATION completes a header block", async () => {
    const { socket, streams, send } = setup()
    const block = encodeHeaders([
      [":path", "/p"],
      ["long", "v".repeat(100)],
    ])
    send(
      CLIENT_PREFACE,
      frame(FrameType.PING, 0, 0, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])),
      frame(FrameType.HEADERS, Flag.END_STREAM, 3, block.subarray(0, 20)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, block.subarray(20)),
    )
    await turn()
    const ping = socket.frames().find((f) => f.type === FrameType.PING)!
    expect(ping.flags).toBe(Flag.ACK)
    expect([...ping.payload]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(streams[0]!.headers).toEqual([
      [":path", "/p"],
      ["long", "v".repeat(100)],
    ])
  })

  test("RST_STREAM from the client resets the handler; a closed socket resets every stream", async () => {
    const { streams, send, connection } = setup()
    send(CLIENT_PREFACE, request(1, false), request(3, false))
    send(frame(FrameType.RST_STREAM, 0, 1, Uint8Array.from([0, 0, 0, 8])))
    expect(streams.map((s) => s.reset)).toEqual([true, false])
    expect(connection.activeStreams).toBe(1)
    connection.closed()
    expect(streams.map((s) => s.reset)).toEqual([true, true])
  })

  test("a bad preface or a frame on an even stream ends the connection with GOAWAY(PROTOCOL_ERROR)", async () => {
    for (const input of [
      Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      Buffer.concat([CLIENT_PREFACE, request(2, true)]),
    ]) {
      const { socket, send } = setup()
      send(input)
      const goaway = socket.frames().find((f) => f.type === FrameType.GOAWAY)!
      expect(new DataView(goaway.payload.buffer).getUint32(4)).toBe(ErrorCode.PROTOCOL_ERROR)
      expect(socket.ended).toBe(true)
    }
  })

  test("bytes the socket did not take are written after drained(), in order", async () => {
    const { socket, streams, send, connection } = setup()
    socket.capacity = 10
    send(CLIENT_PREFACE, windowUpdateFrame(0, 1_000_000), settingsFrame([[0x4, 1_000_000]]), request(1, true))
    await turn()
    streams[0]!.stream.sendData(Uint8Array.from({ length: 30_000 }, (_, i) => i % 251))
    streams[0]!.stream.end(encodeHeaders([["grpc-status", "0"]]))
    await turn()
    socket.capacity = Number.POSITIVE_INFINITY
    connection.drained()
    const data = socket
      .frames()
      .filter((f) => f.type === FrameType.DATA)
      .flatMap((f) => [...f.payload])
    expect(data).toHaveLength(30_000)
    expect(data.every((b, i) => b === i % 251)).toBe(true)
  })

  test("goAway refuses new streams and closes once the open ones finish", async () => {
    const { socket, streams, send, connection } = setup()
    send(CLIENT_PREFACE, request(1, true))
    connection.goAway()
    send(request(3, true))
    await turn()
    const out = socket.frames()
    expect(out.some((f) => f.type === FrameType.GOAWAY)).toBe(true)
    const refused = out.find((f) => f.type === FrameType.RST_STREAM && f.stream === 3)!
    expect(new DataView(refused.payload.buffer).getUint32(0)).toBe(ErrorCode.REFUSED_STREAM)
    expect(socket.ended).toBe(false)
    streams[0]!.stream.end(encodeHeaders([["grpc-status", "0"]]))
    await turn()
    expect(socket.ended).toBe(true)
  })
})
