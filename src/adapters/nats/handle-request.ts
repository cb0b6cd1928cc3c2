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

/** Decodes a request with `input`, runs it, encodes the result with `output`; bad input is INVALID_ARGUMENT. */
const handle = async <Req, ReqI, Res, ResI>(
  input: Schema.Schema<Req, ReqI>,
  output: Schema.Schema<Res, ResI>,
  text: string,
  run: (req: Req) => Promise<Res>,
): Promise<string> => {
  const req = api.decodeJson(input, text)
  if (!req.ok) return errorJson("INVALID_ARGUMENT", req.message)
  return encode(output, await run(req.value))
}

const call = async (svc: EtcdService, op: api.NatsOp, text: string): Promise<string> => {
  switch (op) {
    case "range":
      return handle(api.RangeRequest, api.RangeResponse, text, async (r) =>
        from.rangeFromPb(await svc.range(to.rangeToPb(r))),
      )
    case "put":
      return handle(api.PutRequest, api.PutResponse, text, async (r) =>
        from.putFromPb(await svc.put(to.putToPb(r))),
      )
    case "delete_range":
      return handle(api.DeleteRangeRequest, api.DeleteRangeResponse, text, async (r) =>
        from.deleteFromPb(await svc.deleteRange(to.deleteToPb(r))),
      )
    case "txn":
      return handle(api.TxnRequest, api.TxnResponse, text, async (r) =>
        from.txnFromPb(await svc.txn(to.txnToPb(r))),
      )
    case "compact":
      return handle(api.CompactionRequest, api.CompactionResponse, text, async (r) =>
        from.compactFromPb(await svc.compact(to.compactToPb(r))),
      )
    case "status":
      return handle(api.StatusRequest, api.StatusResponse, text, async () => {
        const [status, members] = await Promise.all([svc.status({}), svc.memberList({})])
        return from.statusFromPb(status, members.members ?? [])
      })
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
