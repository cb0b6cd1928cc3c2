/**
 * One NATS API request, transport-free: JSON text in, JSON text out. Decodes with the schemas,
 * calls the etcd service (its request checks, header filling and error codes), encodes the
 * response. Never throws: every failure becomes `{"error":{"code","message"}}`.
 */
import { Schema } from "effect"
import * as api from "../../../schemas/nats-api.ts"
import { type EtcdError, GrpcCode, toEtcdError } from "../etcd/errors.ts"
import type { EtcdService } from "../etcd/service.ts"
import * as from from "./from-pb.ts"
import * as to from "./to-pb.ts"

const CODE_NAMES: { readonly [code: number]: string } = Object.fromEntries(
  Object.entries(GrpcCode).map(([name, code]) => [code, name]),
)

export const errorJson = (code: string, message: string): string =>
  JSON.stringify(Schema.encodeSync(api.ErrorResponse)({ error: { code, message } }))

const etcdErrorJson = (e: EtcdError): string => errorJson(CODE_NAMES[e.code] ?? "UNKNOWN", e.message)

const encode = <A, I>(schema: Schema.Schema<A, I>, value: A): string =>
  JSON.stringify(Schema.encodeSync(schema)(value))

const call = async (svc: EtcdService, op: api.NatsOp, text: string): Promise<string> => {
  switch (op) {
    case "range": {
      const req = api.decodeJson(api.RangeRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      return encode(api.RangeResponse, from.rangeFromPb(await svc.range(to.rangeToPb(req.value))))
    }
    case "put": {
      const req = api.decodeJson(api.PutRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      return encode(api.PutResponse, from.putFromPb(await svc.put(to.putToPb(req.value))))
    }
    case "delete_range": {
      const req = api.decodeJson(api.DeleteRangeRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      return encode(
        api.DeleteRangeResponse,
        from.deleteFromPb(await svc.deleteRange(to.deleteToPb(req.value))),
      )
    }
    case "txn": {
      const req = api.decodeJson(api.TxnRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      return encode(api.TxnResponse, from.txnFromPb(await svc.txn(to.txnToPb(req.value))))
    }
    case "compact": {
      const req = api.decodeJson(api.CompactionRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      return encode(api.CompactionResponse, from.compactFromPb(await svc.compact(to.compactToPb(req.value))))
    }
    case "status": {
      const req = api.decodeJson(api.StatusRequest, text)
      if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
      const [status, members] = await Promise.all([svc.status({}), svc.memberList({})])
      return encode(api.StatusResponse, from.statusFromPb(status, members.members ?? []))
    }
  }
}

export const handleRequest = async (svc: EtcdService, op: api.NatsOp, data: Uint8Array): Promise<string> => {
  try {
    svc.checkSize(data.length)
    return await call(svc, op, new TextDecoder().decode(data))
  } catch (e) {
    return etcdErrorJson(toEtcdError(e))
  }
}
