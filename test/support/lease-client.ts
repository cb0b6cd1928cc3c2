/**
 * A small etcd gRPC client for lease tests and benches: the bench client with unary Grant and TimeToLive on
 * etcd's own paths with the generated codecs, and a self-reopening LeaseKeepAlive stream (as
 * etcd's clientv3 reopens it after an error).
 */
import type * as grpc from "@grpc/grpc-js"
import {
  KVService,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  LeaseService,
  type PutRequest,
  type RangeRequest,
} from "../../src/adapters/etcd/proto/etcd.gen.ts"
import { EndpointClient, toBuffer } from "../../src/bench/client.ts"

/** The bench's endpoint client (put, range, status) plus the lease calls. */
export class LeaseClient extends EndpointClient {
  // Lease tests run on loaded machines: a longer default deadline than the bench's.
  override put = (request: PutRequest, timeoutMs = 8000) => this.call(KVService.Put, request, timeoutMs)
  override range = (request: RangeRequest, timeoutMs = 8000) => this.call(KVService.Range, request, timeoutMs)
  grant = (ttlSeconds: number, timeoutMs = 8000, id = 0n) =>
    this.call(LeaseService.LeaseGrant, { TTL: BigInt(ttlSeconds), ID: id }, timeoutMs)
  timeToLive = (id: bigint, timeoutMs = 8000) =>
    this.call(LeaseService.LeaseTimeToLive, { ID: id, keys: false }, timeoutMs)
  leases = (timeoutMs = 8000) => this.call(LeaseService.LeaseLeases, {}, timeoutMs)

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
}
