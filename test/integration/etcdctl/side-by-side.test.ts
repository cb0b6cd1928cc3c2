/**
 * Side by side: the same etcdctl session against a real etcd 3.4 and against Lattice's gRPC
 * server; outputs must be identical once member/cluster ids, durations and paths are normalized.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createEtcdGateway } from "../../../src/adapters/etcd/gateway.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { KvEtcdBackend } from "../../unit/etcd/support/kv-backend.ts"
import { type MemoryBackendOptions, MemoryEtcdBackend } from "../../unit/etcd/support/memory-backend.ts"
import {
  type CtlResult,
  type Endpoint,
  ETCD,
  ETCDCTL,
  etcdctl,
  startLattice,
  startRealEtcd,
} from "./harness.ts"

const available = existsSync(ETCD) && existsSync(ETCDCTL)

/** The session: [args, stdin?]. Order matters: revisions advance identically on both sides. */
const SESSION: [string[], string?][] = [
  [["put", "foo", "bar"]],
  [["put", "foo", "baz", "--prev-kv"]],
  [["put", "fob", "1"]],
  [["put", "zed", "2", "-w", "json"]],
  [["get", "foo"]],
  [["get", "fo", "--prefix"]],
  [["get", "fo", "--prefix", "--limit", "1", "-w", "json"]],
  [["get", "foo", "--rev", "2"]],
  [["get", "foo", "-w", "json"]],
  [["get", "foo", "--consistency=s", "-w", "json"]],
  [["get", "", "--from-key", "--order=DESCEND", "--sort-by=MODIFY"]],
  [["get", "fo", "--prefix", "--keys-only", "-w", "fields"]],
  [["get", "nothing", "-w", "json"]],
  [["txn", "-w", "json"], 'value("foo") = "baz"\n\nget foo\nput t1 x\ndel zed\n\nput never x\n\n'],
  [["txn"], 'mod("foo") > "1000"\n\nput never x\n\nget fob\n\n'],
  [["txn"], 'create("missing") = "0"\n\nput t2 y\n\n\n'],
  [["txn"], "\nput d 1\nput d 2\n\n\n"],
  [["del", "fo", "--prefix", "--prev-kv", "-w", "json"]],
  [["del", "nothing"]],
  [["put", "", "x"]],
  [["compaction", "3"]],
  [["compaction", "2"]],
  [["get", "foo", "--rev", "2"]],
  [["get", "foo", "--rev", "100000"]],
  [["member", "list"]],
  [["member", "list", "-w", "json"]],
  [["member", "remove", "abc"]],
  [["member", "add", "x", "--peer-urls=bad"]],
  [["endpoint", "health"]],
  [["alarm", "list"]],
  [["move-leader", "abc"]],
]

/** Replaces ids (decimal and hex), durations and the endpoint so both sides compare equal. */
const normalize = (
  r: CtlResult,
  ids: readonly bigint[],
  endpoints: readonly string[],
  snapDir: string,
): string => {
  let s = `${r.code}\n${r.out}\n${r.err
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("{")) // drop client-side retry/log lines
    .join("\n")}`
  ids.forEach((id, i) => {
    s = s.replaceAll(id.toString(), `<id${i}>`).replaceAll(id.toString(16), `<id${i}>`)
  })
  for (const e of endpoints) s = s.replaceAll(e, "<endpoint>")
  return s
    .replaceAll(snapDir, "<dir>")
    .replace(/took = [\d.]+[µmn]?s/g, "took = <t>")
    .replace(/"raft_term":\d+/g, '"raft_term":<term>')
}

const BACKENDS: [string, (o: MemoryBackendOptions) => KvEtcdBackend | MemoryEtcdBackend][] = [
  ["KvStateMachine on SQLite", (o) => new KvEtcdBackend(o)],
  ["in-memory model", (o) => new MemoryEtcdBackend(o)],
]

describe.skipIf(!available).each(BACKENDS)(
  "Lattice (%s) vs a real etcd 3.4, side by side",
  (_name, makeBackend) => {
    let real: Awaited<ReturnType<typeof startRealEtcd>>
    let lattice: Endpoint
    let backend: KvEtcdBackend | MemoryEtcdBackend
    let dir: string

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "side-by-side-"))
      real = await startRealEtcd("twin")
      // Same member name and URLs, so `member list` can match; ids are normalized.
      backend = makeBackend({ name: "twin", clientURL: real.clientURL, peerURL: real.peerURL })
      lattice = await startLattice(backend)
    }, 30_000)
    afterAll(async () => {
      await lattice?.close()
      if (backend instanceof KvEtcdBackend) backend.close()
      await real?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    test("the same session gives the same output", async () => {
      // etcdctl prints uint64 ids as JSON numbers: read them from the text, not via JSON.parse.
      const statusText = (await etcdctl(real.endpoint, ["endpoint", "status", "-w", "json"])).out
      const idOf = (field: string) => BigInt(new RegExp(`"${field}":(\\d+)`).exec(statusText)![1]!)
      const ids = {
        real: [idOf("cluster_id"), idOf("member_id")],
        lattice: [backend.clusterId, backend.memberId],
      }
      const endpoints = [real.endpoint, lattice.endpoint]
      const mismatches: string[] = []
      for (const [args, stdin] of SESSION) {
        const a = normalize(await etcdctl(real.endpoint, args, stdin), ids.real, endpoints, dir)
        const b = normalize(await etcdctl(lattice.endpoint, args, stdin), ids.lattice, endpoints, dir)
        if (a !== b) mismatches.push(`etcdctl ${args.join(" ")}\n--- etcd\n${a}\n--- lattice\n${b}`)
      }
      expect(mismatches).toEqual([])
    }, 60_000)

    test("the JSON gateway answers the same HTTP session identically", async () => {
      const gateway = createEtcdGateway(new EtcdService(backend))
      const b64 = (x: string) => Buffer.from(x).toString("base64")
      const requests: [string, string][] = [
        ["/v3/kv/range", JSON.stringify({ key: "AA==", range_end: "AA==" })],
        ["/v3/kv/put", JSON.stringify({ key: b64("gw"), value: b64("1"), prev_kv: true })],
        ["/v3/kv/put", JSON.stringify({ key: b64("gw"), value: b64("<&>"), prev_kv: true })],
        ["/v3/kv/range", JSON.stringify({ key: b64("gw"), keys_only: true })],
        ["/v3/kv/range", JSON.stringify({ key: "AA==", range_end: "AA==", limit: 1, sort_order: "DESCEND" })],
        [
          "/v3/kv/txn",
          JSON.stringify({
            compare: [{ key: b64("gw"), target: "MOD", result: "LESS", mod_revision: "1000" }],
            success: [
              { request_put: { key: b64("gw2"), value: "" } },
              { request_range: { key: b64("gw2") } },
            ],
          }),
        ],
        ["/v3/kv/txn", JSON.stringify({ compare: [{ key: b64("gw"), value: b64("no"), target: "VALUE" }] })],
        ["/v3/kv/deleterange", JSON.stringify({ key: b64("gw"), range_end: b64("gx"), prev_kv: true })],
        ["/v3/kv/compaction", JSON.stringify({ revision: "1" })],
        ["/v3/kv/range", JSON.stringify({ key: b64("gw"), revision: "1" })],
        ["/v3/kv/put", JSON.stringify({ key: b64("x"), ignore_value: true })],
        ["/v3/kv/put", JSON.stringify({ key: b64("x"), value: b64("v"), ignore_value: true })],
        ["/v3/cluster/member/list", "{}"],
        ["/v3/maintenance/alarm", JSON.stringify({ action: "GET" })],
        ["/v3/maintenance/transfer-leadership", JSON.stringify({ targetID: "1" })],
        ["/v3/kv/range", '{"key":"YQ=="'],
        ["/v3/kv/range", JSON.stringify({ key: "***" })],
        ["/v3/kv/range", JSON.stringify({ key: b64("a"), sort_target: "NOPE" })],
      ]
      const statusStr = (await etcdctl(real.endpoint, ["endpoint", "status", "-w", "json"])).out
      const realId = (f: string) => new RegExp(`"${f}":(\\d+)`).exec(statusStr)![1]!
      const norm = (body: string, ids: readonly string[]) => {
        for (const [i, id] of ids.entries()) body = body.replaceAll(id, `<id${i}>`)
        return body.replace(/"raft_term":"\d+"/g, '"raft_term":"<t>"')
      }
      const mismatches: string[] = []
      for (const [path, body] of requests) {
        const r = await fetch(`${real.clientURL}${path}`, { method: "POST", body })
        const a = `${r.status} ${norm(await r.text(), [realId("cluster_id"), realId("member_id")])}`
        const res = await gateway(new Request(`http://lattice${path}`, { method: "POST", body }))
        const b = `${res?.status} ${norm((await res?.text()) ?? "", [String(backend.clusterId), String(backend.memberId)])}`
        if (a !== b) mismatches.push(`POST ${path} ${body}\n--- etcd\n${a}\n--- lattice\n${b}`)
      }
      expect(mismatches).toEqual([])
    })

    test("a watch from the compaction floor replays the same history", async () => {
      if (!("watches" in backend)) return
      const gateway = createEtcdGateway(new EtcdService(backend))
      const body = JSON.stringify({
        create_request: { key: "AA==", range_end: "AA==", start_revision: "3", prev_kv: true },
      })
      /** The first two frames (created, catch-up) of a watch stream, ids normalized. */
      const firstFrames = async (res: Response, ids: readonly string[]) => {
        const reader = res.body!.getReader()
        let text = ""
        while (text.split("\n").length < 3) {
          const { value, done } = await reader.read()
          if (done) break
          text += new TextDecoder().decode(value)
        }
        await reader.cancel()
        for (const [i, id] of ids.entries()) text = text.replaceAll(id, `<id${i}>`)
        return text.split("\n").slice(0, 2)
      }
      const statusStr = (await etcdctl(real.endpoint, ["endpoint", "status", "-w", "json"])).out
      const realId = (f: string) => new RegExp(`"${f}":(\\d+)`).exec(statusStr)![1]!
      const controller = new AbortController()
      const theirs = await firstFrames(
        await fetch(`${real.clientURL}/v3/watch`, { method: "POST", body, signal: controller.signal }),
        [realId("cluster_id"), realId("member_id")],
      )
      controller.abort()
      const ours = await firstFrames(
        (await gateway(new Request("http://lattice/v3/watch", { method: "POST", body })))!,
        [String(backend.clusterId), String(backend.memberId)],
      )
      expect(theirs[1]).toContain('"events":[')
      expect(ours).toEqual(theirs)
    })

    test("endpoint status has the same shape", async () => {
      const shape = async (ep: string) => {
        const [s] = JSON.parse((await etcdctl(ep, ["endpoint", "status", "-w", "json"])).out)
        return {
          keys: Object.keys(s),
          status: Object.keys(s.Status).sort(),
          header: Object.keys(s.Status.header).sort(),
        }
      }
      expect(await shape(lattice.endpoint)).toEqual(await shape(real.endpoint))
    })

    test("snapshot save works on both", async () => {
      for (const [name, ep] of [
        ["real", real.endpoint],
        ["lattice", lattice.endpoint],
      ] as const) {
        const file = join(dir, `${name}.db`)
        const r = await etcdctl(ep, ["snapshot", "save", file])
        expect({ name, code: r.code, out: r.out }).toEqual({
          name,
          code: 0,
          out: `Snapshot saved at ${file}\n`,
        })
      }
    })
  },
)
