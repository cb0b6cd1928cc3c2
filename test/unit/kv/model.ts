/**
 * A deliberately simple in-memory model of etcd 3.4's MVCC semantics: a map from key to its
 * full version list, scanned naively. The property test checks the SQLite state machine
 * against it. Request validation (`checkTxn`) is shared with the implementation; it is
 * checked against a real etcd in test/integration/kv-etcd.
 */
import {
  type Compare,
  type KeyValue,
  type KvCommand,
  KvError,
  type KvOutcome,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from "../../../schemas/kv.ts"
import { bytesKey, compareBytes } from "../../../src/kv/bytes.ts"
import { checkTxn } from "../../../src/kv/validate.ts"
import { leaseExists } from "./gen.ts"

const EMPTY = new Uint8Array(0)

interface Version extends KeyValue {}

const KEY_GONE = Symbol("ignore_value/ignore_lease on a key the txn deleted")

export class EtcdModel {
  revision = 1
  compactRev = -1
  // tenant -> key(latin1) -> versions (ascending revision; tombstones have version 0)
  private readonly data = new Map<string, Map<string, Version[]>>()

  private keys(tenant: string): Map<string, Version[]> {
    let m = this.data.get(tenant)
    if (!m) this.data.set(tenant, (m = new Map()))
    return m
  }

  private at(tenant: string, key: Uint8Array, rev: number): Version | undefined {
    const hist = this.keys(tenant).get(bytesKey(key)) ?? []
    let found: Version | undefined
    for (const v of hist) if (v.modRevision <= rev) found = v
    return found && found.version > 0 ? found : undefined
  }

  private inSpan(k: Uint8Array, key: Uint8Array, end: Uint8Array | undefined): boolean {
    if (end === undefined || end.length === 0) return compareBytes(k, key) === 0
    if (end.length === 1 && end[0] === 0) return compareBytes(k, key) >= 0
    return compareBytes(k, key) >= 0 && compareBytes(k, end) < 0
  }

  private liveIn(tenant: string, key: Uint8Array, end: Uint8Array | undefined, rev: number): KeyValue[] {
    const out: KeyValue[] = []
    for (const hist of this.keys(tenant).values()) {
      const k = hist[0]!.key
      if (!this.inSpan(k, key, end)) continue
      const v = this.at(tenant, k, rev)
      if (v) out.push(v)
    }
    return out.sort((a, b) => compareBytes(a.key, b.key))
  }

  range(tenant: string, r: RangeRequest, cur = this.revision): RangeResponse | KvError {
    if (r.key.length === 0) return new KvError("EmptyKey")
    const want = r.revision ?? 0
    if (want > cur) return new KvError("FutureRev")
    const rev = want <= 0 ? cur : want
    if (rev < this.compactRev) return new KvError("Compacted")
    const all = this.liveIn(tenant, r.key, r.rangeEnd, rev)
    const header = { revision: cur }
    if (r.countOnly) return { header, kvs: [], more: false, count: all.length }
    const limit = r.limit ?? 0
    const filtered = !!(r.minModRevision || r.maxModRevision || r.minCreateRevision || r.maxCreateRevision)
    let kvs = (r.sortOrder ?? "NONE") !== "NONE" || filtered || limit <= 0 ? all : all.slice(0, limit + 1)
    kvs = kvs.filter(
      (kv) =>
        (!r.maxModRevision || kv.modRevision <= r.maxModRevision) &&
        (!r.minModRevision || kv.modRevision >= r.minModRevision) &&
        (!r.maxCreateRevision || kv.createRevision <= r.maxCreateRevision) &&
        (!r.minCreateRevision || kv.createRevision >= r.minCreateRevision),
    )
    const target = r.sortTarget ?? "KEY"
    let order = r.sortOrder ?? "NONE"
    if (target !== "KEY" && order === "NONE") order = "ASCEND"
    if (order !== "NONE") {
      const f = (kv: KeyValue): number | Uint8Array =>
        target === "KEY"
          ? kv.key
          : target === "VALUE"
            ? kv.value
            : target === "VERSION"
              ? kv.version
              : target === "CREATE"
                ? kv.createRevision
                : kv.modRevision
      const cmp = (a: KeyValue, b: KeyValue): number => {
        const x = f(a)
        const y = f(b)
        return typeof x === "number" ? x - (y as number) : compareBytes(x, y as Uint8Array)
      }
      kvs = [...kvs].sort(order === "ASCEND" ? cmp : (a, b) => cmp(b, a))
    }
    let more = false
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit)
      more = true
    }
    if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }))
    return { header, kvs, more, count: all.length }
  }

  private write(tenant: string, v: Version): void {
    const m = this.keys(tenant)
    const k = bytesKey(v.key)
    const hist = m.get(k) ?? []
    if (hist.length > 0 && hist[hist.length - 1]!.modRevision === v.modRevision) hist.pop()
    hist.push(v)
    m.set(k, hist)
  }

  private compareOk(tenant: string, c: Compare, rev: number): boolean {
    const kvs = this.liveIn(tenant, c.key, c.rangeEnd, rev)
    const one = (kv: KeyValue): boolean => {
      const d =
        c.target === "VALUE"
          ? compareBytes(kv.value, c.value ?? EMPTY)
          : Number(
              BigInt(
                c.target === "VERSION"
                  ? kv.version
                  : c.target === "CREATE"
                    ? kv.createRevision
                    : c.target === "MOD"
                      ? kv.modRevision
                      : kv.lease,
              ) - (c.operand ?? 0n),
            )
      return c.result === "EQUAL"
        ? d === 0
        : c.result === "NOT_EQUAL"
          ? d !== 0
          : c.result === "GREATER"
            ? d > 0
            : d < 0
    }
    if (kvs.length === 0) {
      return (
        c.target !== "VALUE" &&
        one({ key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n })
      )
    }
    return kvs.every(one)
  }

  apply(tenant: string, cmd: KvCommand): KvOutcome {
    const beginRev = this.revision
    let changed = false
    const cur = (): number => (changed ? beginRev + 1 : beginRev)
    const put = (p: Extract<RequestOp, { type: "put" }>["request"]) => {
      const prev = this.at(tenant, p.key, cur())
      // Deleted earlier in the same txn: etcd panics mid-apply; the txn fails whole instead.
      if ((p.ignoreValue || p.ignoreLease) && !prev) throw KEY_GONE
      const rev = beginRev + 1
      this.write(tenant, {
        key: p.key,
        createRevision: prev ? prev.createRevision : rev,
        modRevision: rev,
        version: prev ? prev.version + 1 : 1,
        value: p.ignoreValue ? prev!.value : (p.value ?? EMPTY),
        lease: p.ignoreLease ? prev!.lease : (p.lease ?? 0n),
      })
      changed = true
      return p.prevKv && prev ? { header: { revision: rev }, prevKv: prev } : { header: { revision: rev } }
    }
    const del = (d: Extract<RequestOp, { type: "deleteRange" }>["request"]) => {
      const victims = this.liveIn(tenant, d.key, d.rangeEnd, cur())
      for (const v of victims) {
        this.write(tenant, {
          key: v.key,
          createRevision: 0,
          modRevision: beginRev + 1,
          version: 0,
          value: EMPTY,
          lease: 0n,
        })
      }
      if (victims.length > 0) changed = true
      return {
        header: { revision: changed ? beginRev + 1 : beginRev },
        deleted: victims.length,
        prevKvs: d.prevKv ? victims : [],
      }
    }
    switch (cmd.type) {
      case "put": {
        const p = cmd.request
        if (p.key.length === 0) return { ok: false, error: new KvError("EmptyKey") }
        if (p.ignoreValue && (p.value?.length ?? 0) > 0)
          return { ok: false, error: new KvError("ValueProvided") }
        if (p.ignoreLease && (p.lease ?? 0n) !== 0n) return { ok: false, error: new KvError("LeaseProvided") }
        if ((p.lease ?? 0n) !== 0n && !leaseExists(p.lease ?? 0n))
          return { ok: false, error: new KvError("LeaseNotFound") }
        if ((p.ignoreValue || p.ignoreLease) && !this.at(tenant, p.key, beginRev)) {
          return { ok: false, error: new KvError("KeyNotFound") }
        }
        const response = put(p)
        this.revision = cur()
        return { ok: true, response: { type: "put", response } }
      }
      case "deleteRange": {
        if (cmd.request.key.length === 0) return { ok: false, error: new KvError("EmptyKey") }
        const response = del(cmd.request)
        this.revision = cur()
        return { ok: true, response: { type: "deleteRange", response } }
      }
      case "compact": {
        const rev = cmd.request.revision
        if (rev <= this.compactRev) return { ok: false, error: new KvError("Compacted") }
        if (rev > this.revision) return { ok: false, error: new KvError("FutureRev") }
        this.compactRev = rev
        return { ok: true, response: { type: "compact", response: { header: { revision: this.revision } } } }
      }
      case "tick":
        return { ok: true, response: { type: "tick", response: { header: { revision: this.revision } } } }
      case "txn": {
        const bad = checkTxn(cmd.request)
        if (bad) return { ok: false, error: bad }
        // All compares (nested too) see the state at the start.
        const paths = new Map<TxnRequest, boolean>()
        const decide = (t: TxnRequest): void => {
          const ok = t.compare.every((c) => this.compareOk(tenant, c, beginRev))
          paths.set(t, ok)
          for (const op of ok ? t.success : t.failure) if (op.type === "txn") decide(op.request)
        }
        decide(cmd.request)
        const ops: RequestOp[] = []
        const walk = (t: TxnRequest): void => {
          for (const op of paths.get(t) ? t.success : t.failure) {
            if (op.type === "txn") walk(op.request)
            else ops.push(op)
          }
        }
        walk(cmd.request)
        const hasWrite = (t: TxnRequest): boolean =>
          [...t.success, ...t.failure].some(
            (o) => o.type === "put" || o.type === "deleteRange" || (o.type === "txn" && hasWrite(o.request)),
          )
        if (hasWrite(cmd.request)) {
          for (const op of ops) {
            if (op.type !== "put") continue
            const p = op.request
            if ((p.ignoreValue || p.ignoreLease) && !this.at(tenant, p.key, beginRev)) {
              return { ok: false, error: new KvError("KeyNotFound") }
            }
            if ((p.lease ?? 0n) !== 0n && !leaseExists(p.lease ?? 0n))
              return { ok: false, error: new KvError("LeaseNotFound") }
          }
        }
        for (const op of ops) {
          const rev = op.type === "range" ? (op.request.revision ?? 0) : 0
          if (rev > beginRev) return { ok: false, error: new KvError("FutureRev") }
          if (rev !== 0 && rev < this.compactRev) return { ok: false, error: new KvError("Compacted") }
        }
        const exec = (t: TxnRequest, top: boolean): TxnResponse => {
          const succeeded = paths.get(t)!
          const responses: ResponseOp[] = []
          for (const op of succeeded ? t.success : t.failure) {
            if (op.type === "range")
              responses.push({
                type: "range",
                response: this.range(tenant, op.request, cur()) as RangeResponse,
              })
            else if (op.type === "put") responses.push({ type: "put", response: put(op.request) })
            else if (op.type === "deleteRange")
              responses.push({ type: "deleteRange", response: del(op.request) })
            else responses.push({ type: "txn", response: exec(op.request, false) })
          }
          return { header: { revision: top ? cur() : 0 }, succeeded, responses }
        }
        const before = new Map([...this.keys(tenant)].map(([k, hist]) => [k, [...hist]]))
        let response: TxnResponse
        try {
          response = exec(cmd.request, true)
        } catch (e) {
          if (e !== KEY_GONE) throw e
          this.data.set(tenant, before)
          return { ok: false, error: new KvError("KeyNotFound") }
        }
        this.revision = cur()
        return { ok: true, response: { type: "txn", response } }
      }
      case "leaseGrant":
      case "leaseRevoke":
      case "leaseRenew":
        // Leases have their own model check (test/unit/kv/lease-model.property.test.ts).
        throw new Error(`the KV model does not model ${cmd.type}`)
    }
  }
}
