/**
 * The gRPC channels to the cluster's endpoints. One channel per endpoint, opened lazily; calls go
 * to the current endpoint, and a transient failure moves the client to the next one (round
 * robin), so a stopped or restarting node costs one failed attempt, not every call.
 */
import * as grpc from "@grpc/grpc-js"

export interface Endpoint {
  readonly address: string
  readonly channel: grpc.Client
}

/** "http://h:p", "https://h:p", "h:p" → "h:p"; refuses anything else with what to write instead. */
export const parseEndpoint = (raw: string): string => {
  const s = raw
    .trim()
    .replace(/^https?:\/\//, "")
    .replace(/\/+$/, "")
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(s)) {
    throw new RangeError(`lattice: endpoint "${raw}" is not host:port (for example 127.0.0.1:2379)`)
  }
  return s
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Reconnect quickly after a node restarts; the defaults wait up to 2 minutes.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
}

export class Endpoints {
  private readonly addresses: readonly string[]
  private readonly channels = new Map<string, grpc.Client>()
  private index = 0
  private closed = false

  constructor(
    endpoints: readonly string[],
    private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    if (endpoints.length === 0)
      throw new RangeError("lattice: give at least one endpoint, e.g. 127.0.0.1:2379")
    this.addresses = [...new Set(endpoints.map(parseEndpoint))]
  }

  get all(): readonly string[] {
    return this.addresses
  }

  current(): Endpoint {
    if (this.closed) throw new Error("lattice: the client is closed")
    const address = this.addresses[this.index]!
    let channel = this.channels.get(address)
    if (channel === undefined) {
      channel = new grpc.Client(address, this.credentials, CHANNEL_OPTIONS)
      this.channels.set(address, channel)
    }
    return { address, channel }
  }

  /** Moves on from `address` if it is still the current endpoint (concurrent failures move once). */
  failover(address: string): void {
    if (this.addresses[this.index] === address) this.index = (this.index + 1) % this.addresses.length
  }

  close(): void {
    this.closed = true
    for (const c of this.channels.values()) c.close()
    this.channels.clear()
  }
}
