import { afterAll, beforeAll, describe, expect } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import type { Message } from "../../../src/raft/messages.ts"
import { makeNatsTransport } from "../../../src/transport/nats.ts"
import { type NatsServer, startNatsServer } from "../../support/nats-server.ts"
import { itLive, receive } from "./live.ts"
import { makeNatsAuthFixture } from "./nats-jwt.ts"

// A nats-server in operator (JWT) mode: only users signed by the trusted account may connect.
const dir = mkdtempSync(join(tmpdir(), "lattice-nats-creds-"))
const fixture = makeNatsAuthFixture()
const files = {
  config: join(dir, "server.conf"),
  user: join(dir, "node.creds"),
  stranger: join(dir, "stranger.creds"),
}
let server: NatsServer

beforeAll(async () => {
  writeFileSync(files.config, fixture.serverConfig)
  writeFileSync(files.user, fixture.userCreds, { mode: 0o600 })
  writeFileSync(files.stranger, fixture.strangerCreds, { mode: 0o600 })
  server = await startNatsServer({ args: ["-c", files.config] })
})

afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const heartbeat = (from: string, to: string): Message => ({
  type: "heartbeat",
  group: 1,
  from,
  to,
  term: 1,
  commit: 0,
  context: 0,
})

describe("NATS transport with a credentials file", () => {
  itLive("nodes with valid .creds connect, exchange raft frames and requests", () =>
    Effect.gen(function* () {
      const config = { cluster: "secure", servers: [server.url], credsFile: files.user }
      const n1 = yield* makeNatsTransport({ ...config, self: "n1" })
      const n2 = yield* makeNatsTransport({ ...config, self: "n2" })
      yield* n2.serve("kv", (payload) => Effect.succeed(payload))
      yield* n1.sendRaft("n2", [heartbeat("n1", "n2")])
      expect(yield* receive(n2.raftInbox, 1)).toEqual([heartbeat("n1", "n2")])
      const reply = yield* n1.request("n2", "kv", Uint8Array.of(7), "2 seconds")
      expect(Array.from(reply)).toEqual([7])
    }),
  )

  itLive("credentials from an unknown account, or none at all, are refused at connect", () =>
    Effect.gen(function* () {
      const stranger = yield* Effect.flip(
        Effect.scoped(
          makeNatsTransport({
            cluster: "secure",
            self: "n3",
            servers: [server.url],
            credsFile: files.stranger,
          }),
        ),
      )
      expect(stranger._tag).toBe("TransportConnectFailed")
      if (stranger._tag === "TransportConnectFailed") {
        expect(stranger.reason).toMatch(/Authorization/i)
        expect(stranger.hint).toContain("credentials")
      }
      const anonymous = yield* Effect.flip(
        Effect.scoped(makeNatsTransport({ cluster: "secure", self: "n4", servers: [server.url] })),
      )
      expect(anonymous._tag).toBe("TransportConnectFailed")
    }),
  )
})
