/** The Lattice TypeScript SDK: client, retry policy and coordination recipes. See docs/sdk.md. */
export { type Bytes, prefixEnd, text, toBytes } from "./bytes.ts"
export {
  type CallOptions,
  type ClientOptions,
  connect,
  type DeleteOptions,
  type GetOptions,
  LatticeClient,
  type PutOptions,
} from "./client.ts"
export { type SdkClock, systemClock } from "./clock.ts"
export { type ConfigSnapshot, ConfigWatch, type ConfigWatchOptions, watchConfig } from "./config-watch.ts"
export { GrpcCode, LatticeClientError, LeaseLostError, WatchCompactedError } from "./errors.ts"
export { KeepAlive } from "./keep-alive.ts"
export {
  type LeaderElectionConfig,
  LeaderElector,
  leaderElection,
  validateLeaderElection,
} from "./leader-election.ts"
export { LockHandle, type LockOptions, lock } from "./lock.ts"
export { DEFAULT_RETRY_POLICY, isTransient, type RetryPolicy } from "./retry.ts"
export { DEFAULT_SESSION_TTL_SECONDS, Session, type SessionOptions, session } from "./session.ts"
export { type WatchBatch, Watcher, type WatchOptions } from "./watch.ts"
