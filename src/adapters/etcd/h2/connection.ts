/**
 * The server side of one HTTP/2 connection (RFC 9113), as much of it as gRPC uses: frames in and
 * out, HPACK-decoded request headers, streams with flow control both ways, PING, SETTINGS and
 * GOAWAY. No server push, no priorities. Everything written in one event-loop turn leaves in one
 * socket write.
 */
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  frame,
  goawayFrame,
  MAX_WINDOW,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from "./frames.ts"
import { type HeaderList, HpackDecoder, HpackError } from "./hpack.ts"

/** What the connection needs from a socket: a write that may take only part of the bytes. */
export interface H2Socket {
  /** Returns how many bytes the socket took; the rest is written after `drained()`. */
  write(bytes: Uint8Array): number
  end(): void
}

/** Receives one stream's request side. */
export interface H2StreamHandler {
  data(chunk: Uint8Array): void
  /** The client closed its side (END_STREAM). */
  end(): void
  /** The stream ended early: the client reset it, or the connection went away. */
  reset(): void
}

/** Called for every new request stream; returns the handler of its request side. */
export type H2RequestListener = (stream: H2Stream, headers: HeaderList) => H2StreamHandler

/** Our receive windows: large, so a request of a few MiB never waits for a WINDOW_UPDATE. */
const STREAM_RECEIVE_WINDOW = 1 << 20
const CONNECTION_RECEIVE_WINDOW = 1 << 24
/** The largest header block we accept, across CONTINUATION frames. */
const MAX_HEADER_BLOCK = 1 << 20

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export class H2Stream {
  /** Response DATA waiting for flow-control window. */
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private trailers: Uint8Array | undefined
  private headersSent = false
  sendWindow: number
  receivedUnacked = 0
  remoteClosed = false
  localClosed = false
  handler: H2StreamHandler | undefined
  /** Called once all buffered DATA has been framed after `sendData` returned false. */
  onDrain: (() => void) | undefined

  constructor(
    readonly id: number,
    private readonly connection: H2Connection,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow
  }

  get closed(): boolean {
    return this.localClosed
  }

  /** Sends response headers (a pre-encoded HPACK block), without ending the stream. */
  sendHeaders(block: Uint8Array): void {
    if (this.localClosed || this.headersSent) return
    this.headersSent = true
    this.connection.headers(this.id, block, false)
  }

  get responded(): boolean {
    return this.headersSent
  }

  /** Queues DATA; false when some of it waits for window (then `onDrain` is called later). */
  sendData(bytes: Uint8Array): boolean {
    if (this.localClosed) return true
    this.pending.push(bytes)
    this.pendingBytes += bytes.length
    this.flush()
    return this.pendingBytes === 0
  }

  /** Ends the stream with trailers (or, before any headers, a trailers-only response). */
  end(block: Uint8Array): void {
    if (this.localClosed || this.trailers !== undefined) return
    this.trailers = block
    this.flush()
  }

  /** Resets the stream (RST_STREAM) and drops what was queued. */
  reset(code: number): void {
    if (this.localClosed) return
    this.localClosed = true
    this.pending = []
    this.pendingBytes = 0
    this.connection.resetStream(this.id, code)
  }

  /** Frames as much queued DATA as the windows allow, then the trailers once nothing is left. */
  flush(): void {
    if (this.localClosed) return
    while (this.pendingBytes > 0) {
      const window = Math.min(this.sendWindow, this.connection.sendWindow)
      if (window <= 0) return
      const head = this.pending[0]!
      const n = Math.min(head.length, window, this.connection.peerMaxFrameSize)
      const chunk = n === head.length ? head : head.subarray(0, n)
      if (n === head.length) this.pending.shift()
      else this.pending[0] = head.subarray(n)
      this.pendingBytes -= n
      this.sendWindow -= n
      this.connection.sendWindow -= n
      this.connection.data(this.id, chunk)
    }
    const drain = this.onDrain
    if (drain !== undefined) {
      this.onDrain = undefined
      drain()
    }
    if (this.trailers !== undefined && !this.localClosed) {
      this.localClosed = true
      this.connection.headers(this.id, this.trailers, true)
      this.trailers = undefined
      this.connection.localEnded(this)
    }
  }
}

export class H2Connection {
  private input: Uint8Array = new Uint8Array(0)
  private prefaceSeen = false
  private readonly decoder = new HpackDecoder()
  private readonly streams = new Map<number, H2Stream>()
  private lastStreamId = 0
  /** A header block being assembled from HEADERS and CONTINUATION frames. */
  private headerBlock:
    | { streamId: number; endStream: boolean; parts: Uint8Array[]; bytes: number }
    | undefined
  private out: Uint8Array[] = []
  private outBytes = 0
  private flushScheduled = false
  /** Bytes the socket did not take yet; written on `drained()`. */
  private backlog: Uint8Array | undefined
  private goingAway = false
  /** Set when the socket should end once the backlog is written. */
  private endWhenDrained = false
  private ended = false
  private peerInitialWindow = DEFAULT_WINDOW
  private receivedUnacked = 0
  sendWindow = DEFAULT_WINDOW
  peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE
  /** Called once when the connection has ended, for any reason. */
  onClose: (() => void) | undefined
  /** Called with an unexpected error from a stream handler (the connection has been closed). */
  onError: ((error: unknown) => void) | undefined

  constructor(
    private readonly socket: H2Socket,
    private readonly onRequest: H2RequestListener,
  ) {
    this.queue(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_RECEIVE_WINDOW],
      ]),
    )
    this.queue(windowUpdateFrame(0, CONNECTION_RECEIVE_WINDOW - DEFAULT_WINDOW))
  }

  /** Open streams. */
  get activeStreams(): number {
    return this.streams.size
  }

  /** Bytes from the socket. */
  received(chunk: Uint8Array): void {
    if (this.ended) return
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk])
    try {
      this.parse()
    } catch (e) {
      if (e instanceof ConnectionError) this.fail(e.code)
      else if (e instanceof HpackError) this.fail(ErrorCode.COMPRESSION_ERROR)
      else {
        // A bug in a handler: this connection ends, the node and its other clients go on.
        this.fail(ErrorCode.INTERNAL_ERROR)
        this.onError?.(e)
      }
    }
  }

  /** The socket can take more bytes. */
  drained(): void {
    const rest = this.backlog
    if (rest === undefined) return
    this.backlog = undefined
    this.writeNow(rest)
    if (this.backlog === undefined && this.endWhenDrained) this.endSocket()
  }

  /** The socket closed: every open stream ends. */
  closed(): void {
    if (this.ended) return
    this.ended = true
    for (const s of this.streams.values()) {
      s.localClosed = true
      s.handler?.reset()
    }
    this.streams.clear()
    this.onClose?.()
  }

  /** Graceful: refuses new streams, lets open ones finish, then closes. */
  goAway(): void {
    if (this.ended || this.goingAway) return
    this.goingAway = true
    this.queue(goawayFrame(this.lastStreamId, ErrorCode.NO_ERROR))
    this.closeIfIdle()
  }

  /** Immediate: resets every open stream and closes the socket. */
  destroy(): void {
    if (this.ended) return
    this.goingAway = true
    this.queue(goawayFrame(this.lastStreamId, ErrorCode.NO_ERROR))
    this.flushOut()
    this.socket.end()
    this.closed()
  }

  // --- called by streams ---

  headers(streamId: number, block: Uint8Array, endStream: boolean): void {
    // One HEADERS frame, or HEADERS and CONTINUATIONs when the block is larger than a frame.
    const max = this.peerMaxFrameSize
    let at = 0
    let type: number = FrameType.HEADERS
    do {
      const n = Math.min(max, block.length - at)
      const last = at + n === block.length
      const flags =
        (last ? Flag.END_HEADERS : 0) | (endStream && type === FrameType.HEADERS ? Flag.END_STREAM : 0)
      this.queueFrame(type, flags, streamId, block, at, n)
      at += n
      type = FrameType.CONTINUATION
    } while (at < block.length)
  }

  data(streamId: number, chunk: Uint8Array): void {
    this.queueFrame(FrameType.DATA, 0, streamId, chunk, 0, chunk.length)
  }

  resetStream(streamId: number, code: number): void {
    this.queue(rstStreamFrame(streamId, code))
    const s = this.streams.get(streamId)
    this.streams.delete(streamId)
    s?.handler?.reset()
    this.closeIfIdle()
  }

  /** We sent END_STREAM: the stream is done unless the client is still sending. */
  localEnded(stream: H2Stream): void {
    if (!stream.remoteClosed) {
      // gRPC's server ends a call with its trailers; a client still sending gets NO_ERROR.
      this.queue(rstStreamFrame(stream.id, ErrorCode.NO_ERROR))
    }
    this.streams.delete(stream.id)
    this.closeIfIdle()
  }

  // --- frames in ---

  private parse(): void {
    let at = 0
    const buf = this.input
    if (!this.prefaceSeen) {
      if (buf.length < CLIENT_PREFACE.length) return
      for (let i = 0; i < CLIENT_PREFACE.length; i++) {
        if (buf[i] !== CLIENT_PREFACE[i]) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "not HTTP/2")
      }
      this.prefaceSeen = true
      at = CLIENT_PREFACE.length
    }
    while (!this.ended && buf.length - at >= FRAME_HEADER_BYTES) {
      const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!
      if (length > DEFAULT_MAX_FRAME_SIZE)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "frame too large")
      if (buf.length - at < FRAME_HEADER_BYTES + length) break
      const type = buf[at + 3]!
      const flags = buf[at + 4]!
      const streamId =
        ((buf[at + 5]! & 0x7f) << 24) | (buf[at + 6]! << 16) | (buf[at + 7]! << 8) | buf[at + 8]!
      const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length)
      at += FRAME_HEADER_BYTES + length
      this.frame(type, flags, streamId, payload)
    }
    // A copy: the socket may reuse the chunk's memory after this call.
    this.input = at === buf.length ? new Uint8Array(0) : buf.slice(at)
  }

  private frame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    if (
      this.headerBlock !== undefined &&
      (type !== FrameType.CONTINUATION || streamId !== this.headerBlock.streamId)
    ) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION")
    }
    switch (type) {
      case FrameType.DATA:
        this.onData(flags, streamId, payload)
        return
      case FrameType.HEADERS:
        this.onHeaders(flags, streamId, payload)
        return
      case FrameType.CONTINUATION:
        this.onContinuation(flags, streamId, payload)
        return
      case FrameType.RST_STREAM:
        this.onReset(streamId)
        return
      case FrameType.SETTINGS:
        this.onSettings(flags, streamId, payload)
        return
      case FrameType.PING:
        if (streamId !== 0 || payload.length !== 8)
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad PING")
        if ((flags & Flag.ACK) === 0) this.queue(frame(FrameType.PING, Flag.ACK, 0, payload.slice()))
        return
      case FrameType.GOAWAY:
        this.goingAway = true
        this.closeIfIdle()
        return
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload)
        return
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client")
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5).
        return
    }
  }

  private onHeaders(flags: number, streamId: number, payload: Uint8Array): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0")
    let start = 0
    let end = payload.length
    if (flags & Flag.PADDED) {
      const pad = payload[0] ?? 0
      start = 1
      end -= pad
    }
    if (flags & Flag.PRIORITY) start += 5
    if (start > end) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad HEADERS padding")
    const fragment = payload.slice(start, end)
    this.headerBlock = {
      streamId,
      endStream: (flags & Flag.END_STREAM) !== 0,
      parts: [fragment],
      bytes: fragment.length,
    }
    if (flags & Flag.END_HEADERS) this.headerBlockDone()
  }

  private onContinuation(flags: number, streamId: number, payload: Uint8Array): void {
    const block = this.headerBlock
    if (block === undefined || block.streamId !== streamId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS")
    }
    block.parts.push(payload.slice())
    block.bytes += payload.length
    if (block.bytes > MAX_HEADER_BLOCK)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "header block too large")
    if (flags & Flag.END_HEADERS) this.headerBlockDone()
  }

  private headerBlockDone(): void {
    const block = this.headerBlock!
    this.headerBlock = undefined
    const bytes = block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts, block.bytes)
    // Decoded even when the stream is refused: the HPACK table must stay in step with the client's.
    const headers = this.decoder.decode(bytes)
    const existing = this.streams.get(block.streamId)
    if (existing !== undefined) {
      // Trailers from the client: they only end its side.
      if (block.endStream) this.remoteEnd(existing)
      return
    }
    if (block.streamId % 2 === 0 || block.streamId <= this.lastStreamId) {
      if (block.streamId % 2 === 0)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "even stream id from a client")
      // A stream we closed already: ignore what the client still sends on it.
      return
    }
    this.lastStreamId = block.streamId
    if (this.goingAway) {
      this.queue(rstStreamFrame(block.streamId, ErrorCode.REFUSED_STREAM))
      return
    }
    const stream = new H2Stream(block.streamId, this, this.peerInitialWindow)
    this.streams.set(stream.id, stream)
    // Marked before the listener runs, so a response it ends at once sends no RST_STREAM.
    stream.remoteClosed = block.endStream
    stream.handler = this.onRequest(stream, headers)
    if (block.endStream) this.remoteEnded(stream)
  }

  private onData(flags: number, streamId: number, payload: Uint8Array): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
    // The whole payload, padding included, counts against the windows.
    this.receivedUnacked += payload.length
    if (this.receivedUnacked >= CONNECTION_RECEIVE_WINDOW / 2) {
      this.queue(windowUpdateFrame(0, this.receivedUnacked))
      this.receivedUnacked = 0
    }
    const stream = this.streams.get(streamId)
    if (stream === undefined || stream.remoteClosed) {
      if (streamId > this.lastStreamId)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream")
      return
    }
    let start = 0
    let end = payload.length
    if (flags & Flag.PADDED) {
      start = 1
      end -= payload[0] ?? 0
      if (start > end) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad DATA padding")
    }
    if (end > start) stream.handler?.data(payload.subarray(start, end))
    const endStream = (flags & Flag.END_STREAM) !== 0
    if (!endStream && this.streams.has(streamId)) {
      stream.receivedUnacked += payload.length
      if (stream.receivedUnacked >= STREAM_RECEIVE_WINDOW / 2) {
        this.queue(windowUpdateFrame(streamId, stream.receivedUnacked))
        stream.receivedUnacked = 0
      }
    }
    if (endStream) this.remoteEnd(stream)
  }

  private remoteEnd(stream: H2Stream): void {
    if (stream.remoteClosed) return
    stream.remoteClosed = true
    this.remoteEnded(stream)
  }

  private remoteEnded(stream: H2Stream): void {
    stream.handler?.end()
    if (stream.localClosed && this.streams.get(stream.id) === stream) {
      this.streams.delete(stream.id)
      this.closeIfIdle()
    }
  }

  private onReset(streamId: number): void {
    const stream = this.streams.get(streamId)
    if (stream === undefined) return
    this.streams.delete(streamId)
    stream.localClosed = true
    stream.handler?.reset()
    this.closeIfIdle()
  }

  private onSettings(flags: number, streamId: number, payload: Uint8Array): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
    if (flags & Flag.ACK) return
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "bad SETTINGS length")
    const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
    for (let i = 0; i < payload.length; i += 6) {
      const id = view.getUint16(i)
      const value = view.getUint32(i + 2)
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window too large")
        const delta = value - this.peerInitialWindow
        this.peerInitialWindow = value
        for (const s of this.streams.values()) s.sendWindow += delta
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 2 ** 24 - 1) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad MAX_FRAME_SIZE")
        }
        this.peerMaxFrameSize = value
      }
      // HEADER_TABLE_SIZE: our encoder never indexes, so any size suits it. The rest are hints.
    }
    this.queue(frame(FrameType.SETTINGS, Flag.ACK, 0))
    for (const s of this.streams.values()) s.flush()
  }

  private onWindowUpdate(streamId: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "bad WINDOW_UPDATE")
    const increment =
      ((payload[0]! & 0x7f) * 2 ** 24) | ((payload[1]! << 16) | (payload[2]! << 8) | payload[3]!)
    if (streamId === 0) {
      this.sendWindow += increment
      for (const s of this.streams.values()) s.flush()
      return
    }
    const stream = this.streams.get(streamId)
    if (stream === undefined) return
    stream.sendWindow += increment
    stream.flush()
  }

  // --- frames out ---

  private queueFrame(
    type: number,
    flags: number,
    streamId: number,
    src: Uint8Array,
    at: number,
    n: number,
  ): void {
    const out = new Uint8Array(FRAME_HEADER_BYTES + n)
    writeFrameHeader(out, 0, n, type, flags, streamId)
    out.set(n === src.length ? src : src.subarray(at, at + n), FRAME_HEADER_BYTES)
    this.queue(out)
  }

  private queue(bytes: Uint8Array): void {
    if (this.ended) return
    this.out.push(bytes)
    this.outBytes += bytes.length
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(() => this.flushOut())
    }
  }

  private flushOut(): void {
    this.flushScheduled = false
    if (this.outBytes === 0 || this.ended) return
    const bytes = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outBytes)
    this.out = []
    this.outBytes = 0
    if (this.backlog !== undefined) this.backlog = Buffer.concat([this.backlog, bytes])
    else this.writeNow(bytes)
  }

  private writeNow(bytes: Uint8Array): void {
    const n = this.socket.write(bytes)
    if (n < 0) {
      this.closed()
      return
    }
    if (n < bytes.length) this.backlog = bytes.subarray(n)
  }

  private closeIfIdle(): void {
    if (this.goingAway && this.streams.size === 0 && !this.ended) {
      this.flushOut()
      if (this.backlog !== undefined) this.endWhenDrained = true
      else this.endSocket()
    }
  }

  private endSocket(): void {
    this.socket.end()
    this.closed()
  }

  private fail(code: number): void {
    this.queue(goawayFrame(this.lastStreamId, code))
    this.flushOut()
    this.socket.end()
    this.closed()
  }
}
