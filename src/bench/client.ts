/**
 * The one load client both systems are driven by: @grpc/grpc-js unary calls on etcd's own gRPC
 * paths, (de)serialized with the generated etcd codecs. One HTTP/2 connection per endpoint.
 */
import * as grpc from "@grpc/grpc-js"
import type { MethodDescriptor } from "../adapters/etcd/proto/descriptor.ts"
import {
  KVService,
  MaintenanceService,
  type PutRequest,
  type RangeRequest,
  type StatusResponse,
} from "../adapters/etcd/proto/etcd.gen.ts"

export const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length)

export class EndpointClient {
  protected readonly client: grpc.Client

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      // Reconnect quickly after a node comes back, so failover rounds measure the cluster.
      "grpc.initial_reconnect_backoff_ms": 50,
      "grpc.max_reconnect_backoff_ms": 200,
    })
  }

  protected call<Req, Res>(
    method: MethodDescriptor<Req, Res>,
    request: Req,
    timeoutMs: number,
  ): Promise<Res> {
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

  put = (request: PutRequest, timeoutMs = 5000) => this.call(KVService.Put, request, timeoutMs)
  range = (request: RangeRequest, timeoutMs = 5000) => this.call(KVService.Range, request, timeoutMs)
  status = (timeoutMs = 1000): Promise<StatusResponse> => this.call(MaintenanceService.Status, {}, timeoutMs)

  close = () => this.client.close()
}

/** Clients for every endpoint of a cluster, handed out round-robin. */
export class ClusterClient {
  readonly endpoints: EndpointClient[]
  private next = 0

  constructor(addresses: readonly string[]) {
    this.endpoints = addresses.map((a) => new EndpointClient(a))
  }

  /** The next endpoint, round-robin, skipping those `skip` says are down. */
  pick = (skip?: ReadonlySet<number>): EndpointClient => {
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = this.next++ % this.endpoints.length
      if (!skip?.has(index)) return this.endpoints[index] as EndpointClient
    }
    return this.endpoints[0] as EndpointClient
  }

  close = () => {
    for (const e of this.endpoints) e.close()
  }
}
