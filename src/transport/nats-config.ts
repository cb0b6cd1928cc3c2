/** Configuration of the NATS transport, with defaults suited to a LAN/edge cluster. */
import type { NodeId } from "../../schemas/raft.ts"

export interface NatsTransportConfig {
  /** Cluster name: the second token of every subject, so clusters can share a NATS deployment. */
  readonly cluster: string
  readonly self: NodeId
  /** One or more `nats://host:port` URLs; the client fails over between them. */
  readonly servers: readonly string[]
  /** Try `servers` in a random order (default true, spreads nodes across a NATS cluster). */
  readonly randomizeServers?: boolean
  /** A NATS `.creds` file (JWT + nkey seed). */
  readonly credsFile?: string
  /** Keep retrying the very first connection instead of failing at once (default false). */
  readonly waitOnFirstConnect?: boolean
  /** Reconnect backoff: doubles per failed attempt from `initialMillis` up to `maxMillis`, plus up to 20% jitter. */
  readonly reconnectInitialMillis?: number
  readonly reconnectMaxMillis?: number
  /** Timeout of one dial attempt. */
  readonly connectTimeoutMillis?: number
  /** Client pings detect a dead server connection within about pingInterval × 2. */
  readonly pingIntervalMillis?: number
  /** Messages held per destination while slow or reconnecting, before the oldest are dropped. */
  readonly queueCapacity?: number
  readonly inboxCapacity?: number
  /** Upper bound of one frame; the server's max_payload applies if it is lower. */
  readonly maxFrameBytes?: number
  /** Larger messages (snapshots) are sent in fragments up to this size; beyond it they are dropped. */
  readonly maxMessageBytes?: number
  /** How long closing may spend draining before it closes the connection hard. */
  readonly drainTimeoutMillis?: number
}

/** Every optional setting, resolved. */
export type NatsSettings = Required<Omit<NatsTransportConfig, "cluster" | "self" | "servers" | "credsFile">>

export const natsDefaults: NatsSettings = {
  randomizeServers: true,
  waitOnFirstConnect: false,
  reconnectInitialMillis: 50,
  reconnectMaxMillis: 2000,
  connectTimeoutMillis: 2000,
  pingIntervalMillis: 5000,
  queueCapacity: 8192,
  inboxCapacity: 65536,
  maxFrameBytes: 1024 * 1024,
  maxMessageBytes: 512 * 1024 * 1024,
  drainTimeoutMillis: 2000,
}

/** Delay before reconnect attempt number `failures` (0-based): exponential, capped, with jitter in [0, 20%). */
export const reconnectDelayMillis = (
  failures: number,
  initial: number,
  max: number,
  unitRandom: number,
): number => {
  const base = Math.min(max, initial * 2 ** Math.min(failures, 30))
  return Math.round(base * (1 + 0.2 * unitRandom))
}
