/** Test helpers: Lattice's gRPC server over the in-memory reference backend, on free ports. */
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../../src/adapters/etcd/grpc-server.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { MemoryEtcdBackend } from "../etcd/support/memory-backend.ts"

export interface MemoryServers {
  readonly backend: MemoryEtcdBackend
  readonly servers: EtcdGrpcServer[]
  readonly endpoints: string[]
  stop(): void
}

/** `n` gRPC servers over one shared backend: n "nodes" of one consistent store. */
export const startMemoryServers = async (
  n = 1,
  backend = new MemoryEtcdBackend(),
): Promise<MemoryServers> => {
  const servers: EtcdGrpcServer[] = []
  for (let i = 0; i < n; i++) {
    servers.push(await startEtcdGrpcServer({ service: new EtcdService(backend), address: "127.0.0.1:0" }))
  }
  return {
    backend,
    servers,
    endpoints: servers.map((s) => `127.0.0.1:${s.port}`),
    stop: () => {
      for (const s of servers) s.forceShutdown()
    },
  }
}

/** A loopback port nothing listens on (bound then released). */
export const deadEndpoint = async (): Promise<string> => {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return `127.0.0.1:${port}`
}

/** Polls `f` until it returns true (or throws after `ms`). */
export const eventually = async (f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    if (await f()) return
    await Bun.sleep(10)
  }
  throw new Error("condition not met in time")
}
