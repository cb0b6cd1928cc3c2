/**
 * The node's `EtcdBackend` as the adapters see it: client requests (KV and lease calls) pass the
 * drain's `RequestGate`, which counts them in flight and, once closed, refuses new ones with
 * UNAVAILABLE and a message telling the client to retry elsewhere. Maintenance calls (status,
 * members, hashes, snapshot, move-leader) stay open so operators can watch a drain. A Proxy, so
 * backend methods added later are forwarded unchanged.
 */
import type { RequestGate } from "../../actors/request-gate.ts"
import type { EtcdBackend } from "../adapters/etcd/backend.ts"
import { EtcdError, GrpcCode } from "../adapters/etcd/errors.ts"

const GATED_KV = new Set<PropertyKey>(["range", "put", "deleteRange", "txn", "compact"])

const gateCall =
  (gate: RequestGate, fn: (...args: unknown[]) => unknown, self: unknown) =>
  (...args: unknown[]): unknown => {
    if (!gate.enter()) return Promise.reject(new EtcdError(GrpcCode.UNAVAILABLE, gate.refusal))
    let result: unknown
    try {
      result = fn.apply(self, args)
    } catch (e) {
      gate.leave()
      throw e
    }
    if (result instanceof Promise) return result.finally(() => gate.leave())
    gate.leave()
    return result
  }

const gateMethods = <T extends object>(
  target: T,
  gate: RequestGate,
  gated: (key: PropertyKey) => boolean,
): T => {
  // One wrapper per method, made on first use: a request only enters and leaves the gate.
  const wrapped = new Map<PropertyKey, { readonly fn: unknown; readonly gatedFn: unknown }>()
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver)
      if (typeof value !== "function" || !gated(key)) return value
      const known = wrapped.get(key)
      if (known !== undefined && known.fn === value) return known.gatedFn
      const gatedFn = gateCall(gate, value as (...args: unknown[]) => unknown, t)
      wrapped.set(key, { fn: value, gatedFn })
      return gatedFn
    },
  })
}

export const gatedBackend = (backend: EtcdBackend, gate: RequestGate): EtcdBackend => {
  const kv = gateMethods(backend, gate, (key) => GATED_KV.has(key))
  if (backend.leases === undefined) return kv
  const leases = gateMethods(backend.leases, gate, () => true)
  return new Proxy(kv, { get: (t, key, r) => (key === "leases" ? leases : Reflect.get(t, key, r)) })
}
