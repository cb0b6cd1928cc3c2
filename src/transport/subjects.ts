/**
 * The NATS subject scheme. One subject per node for Raft frames (all groups share it), one per
 * (node, service) for request-reply:
 *
 *   lattice.<cluster>.raft.<nodeId>              binary Raft frames (see raft-codec.ts)
 *   lattice.<cluster>.rpc.<nodeId>.<service>     request-reply
 *
 * Tokens are restricted to [A-Za-z0-9_-] so no id can inject a wildcard or an extra level.
 */
import { Effect } from "effect"
import type { NodeId } from "../../schemas/raft.ts"
import { InvalidSubjectToken } from "./errors.ts"

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/

export const isValidToken = (value: string): boolean => TOKEN.test(value)

export const validateToken = (kind: string, value: string): Effect.Effect<string, InvalidSubjectToken> =>
  isValidToken(value) ? Effect.succeed(value) : Effect.fail(new InvalidSubjectToken({ kind, value }))

export const raftSubject = (cluster: string, node: NodeId): string => `lattice.${cluster}.raft.${node}`

export const rpcSubject = (cluster: string, node: NodeId, service: string): string =>
  `lattice.${cluster}.rpc.${node}.${service}`
