/**
 * A small etcd gRPC client for lease tests and benches: unary Grant / Put / Range / TimeToLive on
 * etcd's own paths with the generated codecs, and a self-reopening LeaseKeepAlive stream (as
 * etcd's clientv3 reopens it after an error).
 */
import * as grpc from "@grpc/grpc-js"
import type { MethodDescriptor } from "../../src/adapters/etcd/proto/descriptor.ts"
import {
  KVService,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  LeaseService,
  type PutRequest,
  type RangeRequest,
} from "../../src/adapters/etcd/proto/etcd.gen.ts"

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length)

export class LeaseClient {
  private readonly client: grpc.Client

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.initial_reconnect_backoff_ms": 50,
      "grpc.max_reconnect_backoff_ms": 200,
    })
  }

  private call<Req, Res>(method: MethodDescriptor<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Req, Res>(
        method.path,
        (req) => toBuffer(method.request.encode(req)),
        (buf) => method.response.decode(buf),
        request,
        new grpc.Metadata(),
        { deadline: new Date(Date.now() + timeoutMs) },
        (err, res) => (err || res === undefined ? reject(err ?? new Error("empty response")) : resolve(res)),
      )
    })
  }

  grant = (ttlSeconds: number, timeoutMs = 8000) =>
    this.call(LeaseService.LeaseGrant, { TTL: BigInt(ttlSeconds), ID: 0n }, timeoutMs)
  timeToLive = (id: bigint, timeoutMs = 8000) =>
    this.call(LeaseService.LeaseTimeToLive, { ID: id, keys: false }, timeoutMs)
  put = (request: PutRequest, timeoutMs = 8000) => this.call(KVService.Put, request, timeoutMs)
  range = (request: RangeRequest, timeoutMs = 8000) => this.call(KVService.Range, request, timeoutMs)

  /**
   * A keep-alive stream that reopens itself; `onResponse` sees every answer (TTL 0: the lease
   * is gone). `send` drops a renewal while the stream is being reopened (the next round retries).
   */
  keepAlive(onResponse: (r: LeaseKeepAliveResponse) => void): { send(id: bigint): void; close(): void } {
    const method = LeaseService.LeaseKeepAlive
    let closed = false
    let stream: grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | null = null
    const open = () => {
      if (closed) return
      const s = this.client.makeBidiStreamRequest<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(
        method.path,
        (req) => toBuffer(method.request.encode(req)),
        (buf) => method.response.decode(buf),
      )
      s.on("data", onResponse)
      const reopen = () => {
        if (stream !== s) return
        stream = null
        setTimeout(open, 100)
      }
      s.on("error", reopen)
      s.on("end", reopen)
      stream = s
    }
    open()
    return {
      send: (id) => {
        stream?.write({ ID: id })
      },
      close: () => {
        closed = true
        stream?.cancel()
        stream = null
      },
    }
  }

  close = () => this.client.close()
}
