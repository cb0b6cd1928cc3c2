/** HTTP/2 frame types, flags, settings and error codes (RFC 9113), and the frame writer. */

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
} as const

export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")
export const FRAME_HEADER_BYTES = 9
/** RFC 9113's initial values. */
export const DEFAULT_WINDOW = 65_535
export const DEFAULT_MAX_FRAME_SIZE = 16_384
export const MAX_WINDOW = 2 ** 31 - 1

/** One frame: the 9-byte header and the payload in one buffer. */
export const frame = (type: number, flags: number, streamId: number, payload?: Uint8Array): Uint8Array => {
  const length = payload?.length ?? 0
  const out = new Uint8Array(FRAME_HEADER_BYTES + length)
  writeFrameHeader(out, 0, length, type, flags, streamId)
  if (payload !== undefined) out.set(payload, FRAME_HEADER_BYTES)
  return out
}

export const writeFrameHeader = (
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void => {
  out[at] = (length >>> 16) & 0xff
  out[at + 1] = (length >>> 8) & 0xff
  out[at + 2] = length & 0xff
  out[at + 3] = type
  out[at + 4] = flags
  out[at + 5] = (streamId >>> 24) & 0x7f
  out[at + 6] = (streamId >>> 16) & 0xff
  out[at + 7] = (streamId >>> 8) & 0xff
  out[at + 8] = streamId & 0xff
}

const u32 = (value: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, value)
  return b
}

export const settingsFrame = (settings: ReadonlyArray<readonly [number, number]>): Uint8Array => {
  const payload = new Uint8Array(6 * settings.length)
  const view = new DataView(payload.buffer)
  settings.forEach(([id, value], i) => {
    view.setUint16(6 * i, id)
    view.setUint32(6 * i + 2, value)
  })
  return frame(FrameType.SETTINGS, 0, 0, payload)
}

export const windowUpdateFrame = (streamId: number, increment: number): Uint8Array =>
  frame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment))

export const rstStreamFrame = (streamId: number, code: number): Uint8Array =>
  frame(FrameType.RST_STREAM, 0, streamId, u32(code))

export const goawayFrame = (lastStreamId: number, code: number): Uint8Array => {
  const payload = new Uint8Array(8)
  const view = new DataView(payload.buffer)
  view.setUint32(0, lastStreamId & 0x7fffffff)
  view.setUint32(4, code)
  return frame(FrameType.GOAWAY, 0, 0, payload)
}
