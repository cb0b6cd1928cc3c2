/** Free loopback TCP ports, asked from the kernel (listen on port 0, read it back, close). */
import { createConnection, createServer } from "node:net"

export const LOOPBACK = "127.0.0.1"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, LOOPBACK, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** `count` distinct free ports (the kernel may hand the same one back after a close). */
export const freePorts = async (count: number): Promise<number[]> => {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: LOOPBACK, port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Waits (bounded) until something accepts connections on `port`. */
export const waitForPort = async (port: number, what: string, timeoutMs = 10_000): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (await canConnect(port)) return
    await Bun.sleep(20)
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`)
}
