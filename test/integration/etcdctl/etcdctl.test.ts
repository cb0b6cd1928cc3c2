/**
 * The real etcdctl 3.4 against Lattice's etcd v3 gRPC server, over two TEST backends: the real
 * KvStateMachine on a SQLite file (what the node runs after Raft), and the in-memory model.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { KvEtcdBackend } from "../../unit/etcd/support/kv-backend.ts"
import { type MemoryBackendOptions, MemoryEtcdBackend } from "../../unit/etcd/support/memory-backend.ts"
import { type Endpoint, etcdctl, spawnEtcdctl, startLattice } from "./harness.ts"

const hasEtcdctl = existsSync("/usr/bin/etcdctl") || process.env.ETCDCTL_BIN !== undefined
const MEMBER = 0x0fed_cba9_8765_4321n

const BACKENDS: [string, (o: MemoryBackendOptions) => KvEtcdBackend | MemoryEtcdBackend][] = [
  ["KvStateMachine on SQLite", (o) => new KvEtcdBackend(o)],
  ["in-memory model", (o) => new MemoryEtcdBackend(o)],
]

/** The database as etcdctl saves it: zero-padded to 512 bytes, then its SHA-256. */
const savedForm = (data: Uint8Array): Buffer => {
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512)
  padded.set(data)
  return Buffer.concat([padded, createHash("sha256").update(padded).digest()])
}

describe.skipIf(!hasEtcdctl).each(BACKENDS)("etcdctl against Lattice (%s)", (_name, makeBackend) => {
  let backend: KvEtcdBackend | MemoryEtcdBackend
  let lattice: Endpoint
  const ctl = (args: string[], stdin?: string) => etcdctl(lattice.endpoint, args, stdin)

  beforeAll(async () => {
    backend = makeBackend({ memberId: MEMBER, name: "lattice-1" })
    lattice = await startLattice(backend)
  })
  afterAll(async () => {
    await lattice.close()
    if (backend instanceof KvEtcdBackend) backend.close()
  })

  test("put, get with --prefix, --limit, --rev, --consistency=s and -w json, del", async () => {
    expect(await ctl(["put", "foo", "bar"])).toMatchObject({ code: 0, out: "OK\n" })
    expect((await ctl(["put", "foo", "baz", "--prev-kv"])).out).toBe("OK\nfoo\nbar\n")
    await ctl(["put", "fob", "1"])
    await ctl(["put", "zed", "2"])
    expect((await ctl(["get", "foo"])).out).toBe("foo\nbaz\n")
    expect((await ctl(["get", "fo", "--prefix"])).out).toBe("fob\n1\nfoo\nbaz\n")
    expect((await ctl(["get", "fo", "--prefix", "--limit", "1"])).out).toBe("fob\n1\n")
    expect((await ctl(["get", "foo", "--rev", "2"])).out).toBe("foo\nbar\n")
    expect((await ctl(["get", "fo", "--prefix", "--keys-only"])).out).toBe("fob\n\nfoo\n\n")
    expect((await ctl(["get", "fo", "--prefix", "-w", "fields"])).out).toContain('"Count" : 2')
    expect((await ctl(["get", "foo", "--consistency=s"])).out).toBe("foo\nbaz\n")
    expect((await ctl(["get", "", "--from-key", "--order=DESCEND", "--sort-by=KEY"])).out).toBe(
      "zed\n2\nfoo\nbaz\nfob\n1\n",
    )
    const json = JSON.parse((await ctl(["get", "foo", "-w", "json"])).out)
    expect(json).toEqual({
      header: { cluster_id: Number(backend.clusterId), member_id: Number(MEMBER), revision: 5, raft_term: 2 },
      kvs: [
        {
          key: Buffer.from("foo").toString("base64"),
          create_revision: 2,
          mod_revision: 3,
          version: 2,
          value: Buffer.from("baz").toString("base64"),
        },
      ],
      count: 1,
    })
    expect((await ctl(["del", "fo", "--prefix"])).out).toBe("2\n")
    expect((await ctl(["get", "fo", "--prefix"])).out).toBe("")
    expect((await ctl(["del", "nothing"])).out).toBe("0\n")
  })

  test("txn in the interactive stdin form", async () => {
    await ctl(["put", "user1", "bad"])
    const stdin = 'value("user1") = "bad"\n\ndel user1\nput user2 ok\n\nput user1 never\n\n'
    const r = await ctl(["txn"], stdin)
    expect(r).toMatchObject({ code: 0, out: "SUCCESS\n\n1\n\nOK\n" })
    expect((await ctl(["get", "user", "--prefix"])).out).toBe("user2\nok\n")
    const failed = await ctl(["txn"], 'mod("user2") = "1"\n\n\nput other x\n\n')
    expect(failed.out).toBe("FAILURE\n\nOK\n")
    // Writing one key twice in a branch is rejected before it reaches the store.
    const dup = await ctl(["txn"], "\nput a 1\nput a 2\n\n\n")
    expect(dup.code).not.toBe(0)
    expect(dup.err).toContain("etcdserver: duplicate key given in txn request")
  })

  test("compaction, then reads below the floor are OUT_OF_RANGE", async () => {
    const r = await ctl(["compaction", "3"])
    expect(r).toMatchObject({ code: 0, out: "compacted revision 3\n" })
    const old = await ctl(["get", "foo", "--rev", "2"])
    expect(old.code).not.toBe(0)
    expect(old.err).toContain("etcdserver: mvcc: required revision has been compacted")
    const future = await ctl(["get", "foo", "--rev", "100000"])
    expect(future.err).toContain("etcdserver: mvcc: required revision is a future revision")
  })

  test("member list, endpoint status, endpoint health, endpoint hashkv, alarm list", async () => {
    const id = MEMBER.toString(16)
    expect((await ctl(["member", "list"])).out).toBe(
      `${id}, started, lattice-1, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n`,
    )
    const status = await ctl(["endpoint", "status"])
    expect(status.code).toBe(0)
    const cols = status.out.trim().split(", ")
    expect(cols.slice(0, 3)).toEqual([lattice.endpoint, id, "3.4.0"])
    expect(cols.slice(4, 7)).toEqual(["true", "false", "2"])
    const statusJson = JSON.parse((await ctl(["endpoint", "status", "-w", "json"])).out)
    expect(statusJson[0].Status.leader).toBe(Number(MEMBER))
    const health = await ctl(["endpoint", "health"])
    expect(health.code).toBe(0)
    expect(health.err).toMatch(new RegExp(`^${lattice.endpoint} is healthy: successfully committed proposal`))
    const hashkv = await ctl(["endpoint", "hashkv", "-w", "json"])
    expect(JSON.parse(hashkv.out)[0].HashKV.compact_revision).toBe(3)
    expect(await ctl(["alarm", "list"])).toMatchObject({ code: 0, out: "" })
  })

  test("move-leader: a non-member target is a bad transferee", async () => {
    const r = await ctl(["move-leader", "abc"])
    expect(r.code).not.toBe(0)
    expect(r.err).toContain("etcdserver: bad leader transferee")
  })

  test("snapshot save writes the database and etcdctl accepts its checksum", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-snap-"))
    try {
      const file = join(dir, "snap.db")
      const r = await ctl(["snapshot", "save", file])
      expect(r.code).toBe(0)
      expect(r.out).toBe(`Snapshot saved at ${file}\n`)
      expect(readFileSync(file).equals(savedForm(backend.snapshotBytes()))).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("LIN-BOUND: without a leader, linearizable reads and writes fail UNAVAILABLE; serializable reads work", async () => {
    await ctl(["put", "lin", "1"])
    backend.leader = 0n
    try {
      const lin = await ctl(["get", "lin", "--command-timeout=1s"])
      expect(lin.code).not.toBe(0)
      expect(lin.err).toContain("etcdserver: no leader")
      expect((await ctl(["get", "lin", "--consistency=s"])).out).toBe("lin\n1\n")
      const health = await ctl(["endpoint", "health", "--command-timeout=1s"])
      expect(health.code).not.toBe(0)
      expect(health.err).toContain("unhealthy")
    } finally {
      backend.leader = MEMBER
    }
  })

  test("leases: grant, attach, time-to-live, list, keep-alive, revoke (or UNIMPLEMENTED without a lease backend)", async () => {
    const grant = await ctl(["lease", "grant", "100"])
    if (!("leases" in backend)) {
      expect(grant.code).not.toBe(0)
      expect(grant.err).toContain("Unimplemented")
      return
    }
    const id = /^lease ([0-9a-f]+) granted with TTL\(100s\)\n$/.exec(grant.out)?.[1]
    expect(id).toBeDefined()
    expect((await ctl(["put", "leased", "v", `--lease=${id}`])).out).toBe("OK\n")
    expect((await ctl(["lease", "timetolive", id!, "--keys"])).out).toBe(
      `lease ${id} granted with TTL(100s), remaining(100s), attached keys([leased])\n`,
    )
    expect((await ctl(["lease", "list"])).out).toBe(`found 1 leases\n${id}\n`)
    expect((await ctl(["lease", "keep-alive", "--once", id!])).out).toBe(
      `lease ${id} keepalived with TTL(100)\n`,
    )
    expect((await ctl(["lease", "revoke", id!])).out).toBe(`lease ${id} revoked\n`)
    expect((await ctl(["get", "leased"])).out).toBe("")
    expect((await ctl(["lease", "timetolive", id!])).out).toBe(`lease ${id} already expired\n`)
    const again = await ctl(["lease", "revoke", id!])
    expect(again.err).toContain("etcdserver: requested lease not found")
    const unknown = await ctl(["put", "x", "y", "--lease=123"])
    expect(unknown.err).toContain("etcdserver: requested lease not found")
  })

  test("watch: history from --rev with --prev-kv, then live events (when the backend has watches)", async () => {
    if (!("watches" in backend)) return
    await ctl(["put", "w/a", "1"])
    const from = JSON.parse((await ctl(["get", "w/a", "-w", "json"])).out).header.revision
    await ctl(["put", "w/a", "2"])
    const watch = spawnEtcdctl(lattice.endpoint, ["watch", "w/", "--prefix", `--rev=${from}`, "--prev-kv"])
    try {
      // History first: both puts, the second with its previous value.
      expect(await watch.readUntil((o) => o.split("\n").length > 8)).toBe(
        "PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\n",
      )
      await ctl(["del", "w/a"])
      await ctl(["put", "other", "x"])
      await ctl(["put", "w/b", "3"])
      const all = await watch.readUntil((o) => o.includes("w/b\n3\n"))
      expect(all).toBe("PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nDELETE\nw/a\n2\nw/a\n\nPUT\nw/b\n3\n")
    } finally {
      await watch.stop()
    }
  })

  test("gRPC health service answers SERVING for the empty service name", async () => {
    const grpc = await import("@grpc/grpc-js")
    const pb = await import("../../../src/adapters/etcd/proto/etcd.gen.ts")
    const client = new grpc.Client(lattice.endpoint, grpc.credentials.createInsecure())
    try {
      const call = (service: string) =>
        new Promise<{ status?: number; code?: number }>((resolve) =>
          client.makeUnaryRequest(
            "/grpc.health.v1.Health/Check",
            (m: object) => Buffer.from(pb.encodeHealthCheckRequest(m)),
            (b: Buffer) => pb.decodeHealthCheckResponse(b),
            { service },
            (err, res) => resolve(err ? { code: err.code } : { status: res?.status }),
          ),
        )
      expect(await call("")).toEqual({ status: pb.HealthCheckResponse_ServingStatus.SERVING })
      expect(await call("nope")).toEqual({ code: grpc.status.NOT_FOUND })
    } finally {
      client.close()
    }
  })
})
