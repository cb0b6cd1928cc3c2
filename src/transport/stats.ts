/** Counters a transport keeps; read as a snapshot through `Transport.stats` (and exported as metrics later). */

export interface TransportStats {
  readonly framesSent: number
  readonly messagesSent: number
  /** Dropped because a peer's outbound queue was full (the oldest go first). */
  readonly messagesDroppedQueueFull: number
  /** Sent in fragments because one alone exceeds the maximum frame size (snapshots). */
  readonly messagesFragmented: number
  /** Dropped because one message alone exceeds the maximum message size. */
  readonly messagesDroppedOversize: number
  readonly framesReceived: number
  readonly messagesReceived: number
  /** Received frames (and fragments) that failed to decode; they are discarded whole. */
  readonly framesRejected: number
  /** Dropped because the inbox was full (the oldest go first). */
  readonly messagesDroppedInboxFull: number
}

export type MutableTransportStats = { -readonly [K in keyof TransportStats]: TransportStats[K] }

export const makeStats = (): MutableTransportStats => ({
  framesSent: 0,
  messagesSent: 0,
  messagesDroppedQueueFull: 0,
  messagesFragmented: 0,
  messagesDroppedOversize: 0,
  framesReceived: 0,
  messagesReceived: 0,
  framesRejected: 0,
  messagesDroppedInboxFull: 0,
})
