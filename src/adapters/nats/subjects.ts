/** Subjects of the NATS KV service: `lattice.<cluster>.kv.<op>`, one queue group per cluster. */
import type { NatsOp } from "../../../schemas/nats-api.ts"

export const kvSubject = (cluster: string, op: NatsOp): string => `lattice.${cluster}.kv.${op}`

/** Every node of a cluster joins this group, so exactly one of them answers each request. */
export const kvQueueGroup = (cluster: string): string => `lattice.${cluster}.kv`
