/**
 * Applying lease commands to one group's state, inside the state machine's apply transaction.
 * Time is the committed clock (`meta.tickMs`): a lease granted or renewed at committed time T
 * with TTL d expires when a tick entry moves the clock to T + d or beyond. Revoke deletes every
 * key attached to the lease in ONE revision (etcd: one txn of deletes); a tick deletes the keys
 * of every lease it expires in one revision. No live key, no new revision.
 */
import {
  KvError,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseRenewResponse,
  MAX_LEASE_ID,
  MAX_LEASE_TTL_MS,
} from "../../../schemas/kv.ts"
import type { KvMeta } from "../meta.ts"
import type { MvccStore } from "../store.ts"
import type { TenantRegistry } from "../tenants.ts"
import { type KvEvent, WriteTxn } from "../write-txn.ts"
import { type LeaseRow, LeaseStore } from "./store.ts"

/** At most this many leases expire per tick entry, so one tick never stalls the apply loop. */
export const EXPIRE_PER_TICK = 1000

export interface AttachedKey {
  readonly tenant: number
  readonly key: Uint8Array
}

const byTenantAndKey = (a: AttachedKey, b: AttachedKey): number => {
  if (a.tenant !== b.tenant) return a.tenant - b.tenant
  const n = Math.min(a.key.length, b.key.length)
  for (let i = 0; i < n; i++) if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!
  return a.key.length - b.key.length
}

export class LeaseMachine {
  constructor(
    readonly leases: LeaseStore,
    private readonly mvcc: MvccStore,
    private readonly tenants: TenantRegistry,
  ) {}

  /** A lease that is granted and not past its deadline on the committed clock. */
  live(id: bigint, meta: KvMeta): LeaseRow | undefined {
    if (id <= 0n) return undefined
    const row = this.leases.get(id)
    return row !== undefined && row.deadlineMs > meta.tickMs ? row : undefined
  }

  /** The live keys whose current version carries `lease`, in (tenant, key) order. */
  attachedKeys(lease: bigint, revision: number): AttachedKey[] {
    const out: AttachedKey[] = []
    for (const r of this.leases.versionsWith(lease)) {
      const tenant = Number(r.tenant)
      const key = r.key as Uint8Array
      const live = this.mvcc.latest(tenant, key, revision)
      if (live === undefined || live.version === 0 || live.modRevision !== Number(r.rev)) continue
      out.push({ tenant, key })
    }
    return out
  }

  grant(req: LeaseGrantRequest, meta: KvMeta): LeaseGrantResponse | KvError {
    if (req.id < 0n || req.id > MAX_LEASE_ID) return new KvError("LeaseIdOutOfRange")
    if (req.ttlMs > MAX_LEASE_TTL_MS) return new KvError("LeaseTTLTooLarge")
    // Adapters apply their own minimum; a non-positive TTL here still yields a valid lease.
    const ttlMs = Math.max(1, Math.floor(req.ttlMs))
    let id = req.id
    if (id === 0n) {
      // Assigned ids come from a counter and are never handed out twice.
      id = this.leases.nextId()
      while (this.leases.get(id) !== undefined) id++
      if (id > MAX_LEASE_ID) return new KvError("LeaseIdOutOfRange")
      this.leases.setNextId(id + 1n)
    } else if (this.leases.get(id) !== undefined) {
      return new KvError("LeaseExist")
    }
    this.leases.insert({ id, ttlMs, deadlineMs: meta.tickMs + ttlMs })
    return { header: { revision: meta.revision }, id, ttlMs }
  }

  renew(ids: readonly bigint[], meta: KvMeta): LeaseRenewResponse {
    const ttlsMs = ids.map((id) => {
      const row = this.live(id, meta)
      if (row === undefined) return -1
      this.leases.setDeadline(id, meta.tickMs + row.ttlMs)
      return row.ttlMs
    })
    return { header: { revision: meta.revision }, ttlsMs }
  }

  /** Revokes a granted lease (even one past its deadline that no tick has expired yet). */
  revoke(id: bigint, meta: KvMeta): KvEvent[] | KvError {
    if (id <= 0n || this.leases.get(id) === undefined) return new KvError("LeaseNotFound")
    return this.drop([id], meta)
  }

  /**
   * Expires leases due on the committed clock, at most `limit`, and deletes all their keys in
   * one revision (one tick entry = at most one revision, as the watch hub expects per entry).
   */
  expireDue(meta: KvMeta, limit = EXPIRE_PER_TICK): KvEvent[] {
    return this.drop(
      this.leases.due(meta.tickMs, limit).map((row) => row.id),
      meta,
    )
  }

  /** Deletes the leases and their keys; the keys go in one new revision. */
  private drop(ids: readonly bigint[], meta: KvMeta): KvEvent[] {
    const keys: AttachedKey[] = []
    for (const id of ids) {
      keys.push(...this.attachedKeys(id, meta.revision))
      this.leases.remove(id)
    }
    if (keys.length === 0) return []
    if (ids.length > 1) keys.sort(byTenantAndKey)
    // One WriteTxn per tenant, all at beginRev + 1: one revision for the whole lease.
    const beginRev = meta.revision
    const txs: WriteTxn[] = []
    for (const k of keys) {
      let tx = txs[txs.length - 1]
      if (tx === undefined || tx.tenant !== k.tenant) {
        tx = new WriteTxn(this.mvcc, k.tenant, beginRev, meta.compactRev)
        txs.push(tx)
      }
      tx.deleteRange({ key: k.key })
    }
    if (txs.some((tx) => tx.changed)) meta.revision = beginRev + 1
    return txs.flatMap((tx) => tx.events)
  }

  tenantName(id: number): string {
    return this.tenants.nameOf(id) ?? ""
  }
}

export { LeaseStore }
