/**
 * Minimal NATS decentralized-auth material for tests: an operator, one account and one user,
 * as signed JWTs (ed25519 nkeys), a nats-server config that trusts them, and a `.creds` file.
 * Test fixture only: claims carry what nats-server needs and no more.
 */
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys"

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")
const text = (value: string) => new TextEncoder().encode(value)

const signJwt = (issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>) => {
  const header = base64url(text(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" })))
  const claims = {
    jti: `${name}-${subject.slice(0, 12)}`,
    iat: 1_700_000_000,
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  }
  const payload = base64url(text(JSON.stringify(claims)))
  const signature = base64url(issuer.sign(text(`${header}.${payload}`)))
  return `${header}.${payload}.${signature}`
}

const unlimited = { subs: -1, data: -1, payload: -1 }

export interface NatsAuthFixture {
  /** nats-server configuration text (operator mode, memory resolver). */
  readonly serverConfig: string
  /** Contents of a valid `.creds` file for the user. */
  readonly userCreds: string
  /** A `.creds` file for a user signed by an account the server does not know. */
  readonly strangerCreds: string
}

const credsFile = (jwt: string, seed: Uint8Array) =>
  `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` +
  `-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(seed)}\n------END USER NKEY SEED------\n`

export const makeNatsAuthFixture = (): NatsAuthFixture => {
  const operator = createOperator()
  const account = createAccount()
  const user = createUser()
  const operatorJwt = signJwt(operator, operator.getPublicKey(), "lattice-test-operator", {
    type: "operator",
  })
  const accountJwt = signJwt(operator, account.getPublicKey(), "lattice", {
    type: "account",
    limits: { ...unlimited, conn: -1, leaf: -1, imports: -1, exports: -1, wildcards: true },
  })
  const userJwt = signJwt(account, user.getPublicKey(), "node", {
    type: "user",
    pub: {},
    sub: {},
    ...unlimited,
  })

  const strangerAccount = createAccount()
  const stranger = createUser()
  const strangerJwt = signJwt(strangerAccount, stranger.getPublicKey(), "stranger", {
    type: "user",
    pub: {},
    sub: {},
    ...unlimited,
  })
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      "resolver: MEMORY",
      `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`,
      "",
    ].join("\n"),
    userCreds: credsFile(userJwt, user.getSeed()),
    strangerCreds: credsFile(strangerJwt, stranger.getSeed()),
  }
}
