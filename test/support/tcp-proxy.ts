/**
 * A TCP proxy for fault injection in integration tests: one per node between it and nats-server,
 * so a test can cut that node's network (every open connection is dropped and new ones are
 * refused until `heal`) while the rest of the cluster keeps talking.
 *
 *   const proxy = await startTcpProxy(natsPort)   // proxy.url = "nats://127.0.0.1:PORT"
 *   proxy.cut(); …; proxy.heal(); await proxy.stop()
 */
import { createConnection, createServer, type Socket } from "node:net"

export interface TcpProxy {
  readonly port: number
  readonly url: string
  /** Drops every open connection and refuses new ones. */
  readonly cut: () => void
  readonly heal: () => void
  readonly isCut: () => boolean
  readonly stop: () => Promise<void>
}

export const startTcpProxy = (targetPort: number, host = "127.0.0.1"): Promise<TcpProxy> =>
  new Promise((resolve, reject) => {
    let cut = false
    const open = new Set<Socket>()
    const server = createServer((client) => {
      if (cut) {
        client.destroy()
        return
      }
      const upstream = createConnection({ host, port: targetPort })
      open.add(client)
      open.add(upstream)
      const close = () => {
        client.destroy()
        upstream.destroy()
        open.delete(client)
        open.delete(upstream)
      }
      client.on("error", close)
      upstream.on("error", close)
      client.on("close", close)
      upstream.on("close", close)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        port,
        url: `nats://${host}:${port}`,
        cut: () => {
          cut = true
          for (const s of open) s.destroy()
          open.clear()
        },
        heal: () => {
          cut = false
        },
        isCut: () => cut,
        stop: () =>
          new Promise<void>((done) => {
            cut = true
            for (const s of open) s.destroy()
            open.clear()
            server.close(() => done())
          }),
      })
    })
  })
