/**
 * Request checks etcd performs before a request reaches Raft (etcdserver/api/v3rpc/key.go), with
 * the same errors: empty keys, ignore_value/ignore_lease conflicts, txn size, and a txn that
 * writes the same key twice (put/put or put/delete overlap) in one branch path.
 */
import { EtcdErrors } from "./errors.ts"
import type * as pb from "./proto/etcd.gen.ts"

/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128

const empty = (b: Uint8Array | undefined) => b === undefined || b.length === 0

export const checkRange = (r: pb.RangeRequest): void => {
  if (empty(r.key)) throw EtcdErrors.emptyKey()
}

export const checkPut = (r: pb.PutRequest): void => {
  if (empty(r.key)) throw EtcdErrors.emptyKey()
  if (r.ignoreValue === true && !empty(r.value)) throw EtcdErrors.valueProvided()
  if (r.ignoreLease === true && r.lease !== undefined && r.lease !== 0n) throw EtcdErrors.leaseProvided()
}

export const checkDelete = (r: pb.DeleteRangeRequest): void => {
  if (empty(r.key)) throw EtcdErrors.emptyKey()
}

const checkOp = (op: pb.RequestOp, maxOps: number): void => {
  if (op.requestRange !== undefined) checkRange(op.requestRange)
  else if (op.requestPut !== undefined) checkPut(op.requestPut)
  else if (op.requestDeleteRange !== undefined) checkDelete(op.requestDeleteRange)
  else if (op.requestTxn !== undefined) checkTxnOps(op.requestTxn, maxOps)
  // An empty op is what etcd reports as "key not found".
  else throw EtcdErrors.keyNotFound()
}

const checkTxnOps = (r: pb.TxnRequest, maxOps: number): void => {
  const compare = r.compare ?? []
  const success = r.success ?? []
  const failure = r.failure ?? []
  const opc = Math.max(compare.length, success.length, failure.length)
  if (opc > maxOps) throw EtcdErrors.tooManyOps()
  for (const c of compare) if (empty(c.key)) throw EtcdErrors.emptyKey()
  for (const op of success) checkOp(op, maxOps - opc)
  for (const op of failure) checkOp(op, maxOps - opc)
}

/**
 * A deleted key range: [key, end), or the single key when end is undefined. Like etcd, "\0" is
 * compared literally here (not as "to the end"), so such deletes never conflict.
 */
interface DeletedRange {
  readonly key: Uint8Array
  readonly end: Uint8Array | undefined
}

const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)
const hexKey = (k: Uint8Array): string => Buffer.from(k).toString("hex")
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"))

const deletes = (dels: readonly DeletedRange[], key: Uint8Array): boolean =>
  dels.some((d) =>
    d.end === undefined
      ? cmp(d.key, key) === 0
      : cmp(d.key, key) <= 0 && (d.end === null || cmp(key, d.end) < 0),
  )

/** etcd's checkIntervals: returns this level's puts (hex keys) and deletes, or throws duplicateKey. */
const checkIntervals = (ops: readonly pb.RequestOp[]): { puts: Set<string>; dels: DeletedRange[] } => {
  const dels: DeletedRange[] = []
  for (const op of ops) {
    const d = op.requestDeleteRange
    if (d === undefined) continue
    const key = d.key ?? new Uint8Array(0)
    const end = d.rangeEnd
    if (end === undefined || end.length === 0) dels.push({ key, end: undefined })
    else dels.push({ key, end })
  }
  const puts = new Set<string>()
  for (const op of ops) {
    const t = op.requestTxn
    if (t === undefined) continue
    const then = checkIntervals(t.success ?? [])
    const otherwise = checkIntervals(t.failure ?? [])
    for (const k of then.puts) {
      if (puts.has(k) || deletes(dels, fromHex(k))) throw EtcdErrors.duplicateKey()
      puts.add(k)
    }
    for (const k of otherwise.puts) {
      // then/else are exclusive, so the same key in both is fine.
      if (puts.has(k) && !then.puts.has(k)) throw EtcdErrors.duplicateKey()
      if (deletes(dels, fromHex(k))) throw EtcdErrors.duplicateKey()
      puts.add(k)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }
  for (const op of ops) {
    const p = op.requestPut
    if (p === undefined) continue
    const key = p.key ?? new Uint8Array(0)
    const k = hexKey(key)
    if (puts.has(k) || deletes(dels, key)) throw EtcdErrors.duplicateKey()
    puts.add(k)
  }
  return { puts, dels }
}

export const checkTxn = (r: pb.TxnRequest, maxOps: number = DEFAULT_MAX_TXN_OPS): void => {
  checkTxnOps(r, maxOps)
  checkIntervals(r.success ?? [])
  checkIntervals(r.failure ?? [])
}

/** etcd's types.NewURLs check for member peer URLs: absolute http(s)/unix URLs with host:port and no path. */
export const validPeerURLs = (urls: readonly string[]): boolean => {
  if (urls.length === 0) return false
  for (const s of urls) {
    let u: URL
    try {
      u = new URL(s)
    } catch {
      return false
    }
    if (!["http:", "https:", "unix:", "unixs:"].includes(u.protocol)) return false
    if ((u.protocol === "http:" || u.protocol === "https:") && !/:\d+$/.test(u.host)) return false
    if (u.pathname !== "" && u.pathname !== "/") return false
  }
  return true
}
