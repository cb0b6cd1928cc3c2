/**
 * One write transaction of the MVCC store, as etcd's `storeTxnWrite`: every change gets
 * revision beginRev+1, reads inside see the changes made so far, and the revision moves
 * only if something changed.
 */
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
} from "../../schemas/kv.ts"
import { EMPTY } from "./bytes.ts"
import { keySpan, type MvccStore } from "./store.ts"

/** A change, in apply order: what watchers will be told. */
export interface KvEvent {
  readonly type: "put" | "delete"
  readonly tenant: number
  /** For a delete: the key with its tombstone revision. */
  readonly kv: KeyValue
  readonly prevKv: KeyValue | undefined
}

export class WriteTxn {
  changed = false
  readonly events: KvEvent[] = []

  constructor(
    readonly store: MvccStore,
    /** undefined: a tenant that has never written (reads see nothing). */
    readonly tenant: number | undefined,
    readonly beginRev: number,
    readonly compactRev: number,
  ) {}

  /** The revision reads inside this txn see. */
  get readRev(): number {
    return this.changed ? this.beginRev + 1 : this.beginRev
  }

  liveKv(key: Uint8Array): KeyValue | undefined {
    if (this.tenant === undefined) return undefined
    const kv = this.store.latest(this.tenant, key, this.readRev)
    return kv !== undefined && kv.version > 0 ? kv : undefined
  }

  /** Assumes the request passed the checks (ignore_* need a live key). */
  put(p: PutRequest): PutResponse {
    if (this.tenant === undefined) throw new Error("write txn without a tenant")
    const rev = this.beginRev + 1
    const prev = this.liveKv(p.key)
    const kv: KeyValue = {
      key: p.key,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      value: p.ignoreValue && prev ? prev.value : (p.value ?? EMPTY),
      lease: p.ignoreLease && prev ? prev.lease : (p.lease ?? 0n),
    }
    this.store.write(this.tenant, kv)
    this.changed = true
    this.events.push({ type: "put", tenant: this.tenant, kv, prevKv: prev })
    const header = { revision: rev }
    return p.prevKv && prev ? { header, prevKv: prev } : { header }
  }

  deleteRange(d: DeleteRangeRequest): DeleteRangeResponse {
    if (this.tenant === undefined) throw new Error("write txn without a tenant")
    const rev = this.beginRev + 1
    const victims = this.store.live(this.tenant, keySpan(d.key, d.rangeEnd), this.readRev, 0)
    for (const prev of victims) {
      const tomb: KeyValue = {
        key: prev.key,
        createRevision: 0,
        modRevision: rev,
        version: 0,
        value: EMPTY,
        lease: 0n,
      }
      this.store.write(this.tenant, tomb)
      this.events.push({ type: "delete", tenant: this.tenant, kv: tomb, prevKv: prev })
    }
    if (victims.length > 0) this.changed = true
    return {
      header: { revision: this.changed ? rev : this.beginRev },
      deleted: victims.length,
      prevKvs: d.prevKv ? victims : [],
    }
  }
}
