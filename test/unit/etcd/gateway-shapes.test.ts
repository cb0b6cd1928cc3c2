/**
 * The JSON gateway, byte for byte against responses recorded from a real etcd 3.4.23 (single
 * member "probe", same request sequence). The backend is the in-memory TEST backend configured
 * with the recorded cluster and member ids, so every body must match exactly.
 */
import { describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { createEtcdGateway } from "../../../src/adapters/etcd/gateway.ts"
import { EtcdService } from "../../../src/adapters/etcd/service.ts"
import { MemoryEtcdBackend } from "./support/memory-backend.ts"

const HDR = (rev: number) =>
  `"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"${rev}","raft_term":"2"}`

const makeGateway = () => {
  const backend = new MemoryEtcdBackend({
    clusterId: 15118495548433857066n,
    memberId: 13668033151171901709n,
    name: "probe",
    peerURL: "http://127.0.0.1:23801",
    clientURL: "http://127.0.0.1:23791",
  })
  return { backend, gateway: createEtcdGateway(new EtcdService(backend)) }
}

const post = async (
  gw: ReturnType<typeof createEtcdGateway>,
  path: string,
  body: string,
  method = "POST",
) => {
  const res = await gw(
    new Request(`http://127.0.0.1:2379${path}`, method === "GET" ? { method } : { method, body }),
  )
  if (res === undefined) return undefined
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") }
}

describe("etcd JSON gateway matches etcd 3.4 byte for byte", () => {
  test("the recorded KV session", async () => {
    const { gateway: gw } = makeGateway()
    // [path, request body, expected status, expected body] as etcd answered them.
    const session: [string, string, number, string][] = [
      ["/v3/kv/put", '{"key":"Zm9v","value":"YmFy"}', 200, `{${HDR(2)}}`],
      [
        "/v3/kv/range",
        '{"key":"Zm9v"}',
        200,
        `{${HDR(2)},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}`,
      ],
      ["/v3/kv/range", '{"key":"bm9uZQ=="}', 200, `{${HDR(2)}}`],
      [
        "/v3/kv/range",
        '{"key":""}',
        400,
        '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
      ],
      [
        "/v3/kv/put",
        '{"key":"Zm9v","value":"YmF6","prev_kv":true}',
        200,
        `{${HDR(3)},"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}`,
      ],
      [
        "/v3/kv/put",
        '{"key":"Zm9v","value":"","prevKv":true}',
        200,
        `{${HDR(4)},"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmF6"}}`,
      ],
      ["/v3/kv/range", '{"key":"AA==","range_end":"AA==","count_only":true}', 200, `{${HDR(4)},"count":"1"}`],
      ["/v3/kv/range", '{"key":"Zm9v","revision":1}', 200, `{${HDR(4)}}`],
      [
        "/v3/kv/range",
        '{"key":"Zm9v","revision":100}',
        400,
        '{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}',
      ],
      [
        "/v3/kv/range",
        '{"key":"Zm9v"}',
        200,
        `{${HDR(4)},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3"}],"count":"1"}`,
      ],
      [
        "/v3/kv/txn",
        '{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VERSION","version":"3"}],"success":[{"request_range":{"key":"Zm9v"}},{"request_put":{"key":"YQ==","value":"MQ=="}}],"failure":[{"request_delete_range":{"key":"Zm9v"}}]}',
        200,
        `{${HDR(5)},"succeeded":true,"responses":[{"response_range":{"header":{"revision":"4"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3"}],"count":"1"}},{"response_put":{"header":{"revision":"5"}}}]}`,
      ],
      [
        "/v3/kv/txn",
        '{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VERSION","version":"1"}],"success":[],"failure":[{"request_delete_range":{"key":"Zm9v","prev_kv":true}}]}',
        200,
        `{${HDR(6)},"responses":[{"response_delete_range":{"header":{"revision":"6"},"deleted":"1","prev_kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3"}]}}]}`,
      ],
      ["/v3/kv/deleterange", '{"key":"YQ=="}', 200, `{${HDR(7)},"deleted":"1"}`],
      ["/v3/kv/deleterange", '{"key":"YQ=="}', 200, `{${HDR(7)}}`],
      ["/v3/kv/compaction", '{"revision":"3"}', 200, `{${HDR(7)}}`],
      [
        "/v3/kv/compaction",
        '{"revision":3}',
        400,
        '{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}',
      ],
      [
        "/v3/kv/range",
        '{"key":"Zm9v","revision":2}',
        400,
        '{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}',
      ],
      [
        "/v3/cluster/member/list",
        "{}",
        200,
        '{"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","raft_term":"2"},"members":[{"ID":"13668033151171901709","name":"probe","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]}]}',
      ],
      ["/v3/maintenance/alarm", "{}", 200, "{}"],
      [
        "/v3/maintenance/transfer-leadership",
        '{"targetID":"5"}',
        412,
        '{"error":"etcdserver: bad leader transferee","message":"etcdserver: bad leader transferee","code":9}',
      ],
      [
        "/v3/cluster/member/add",
        '{"peerURLs":["bad"]}',
        400,
        '{"error":"etcdserver: given member URLs are invalid","message":"etcdserver: given member URLs are invalid","code":3}',
      ],
      [
        "/v3/cluster/member/remove",
        '{"ID":"5"}',
        404,
        '{"error":"etcdserver: member not found","message":"etcdserver: member not found","code":5}',
      ],
      [
        "/v3/cluster/member/promote",
        '{"ID":"5"}',
        404,
        '{"error":"etcdserver: member not found","message":"etcdserver: member not found","code":5}',
      ],
      ["/v3/kv/range", '{"key":"Zm9v","bogus":1}', 200, `{${HDR(7)}}`],
      [
        "/v3/kv/range",
        "null",
        400,
        '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
      ],
      [
        "/v3/kv/range",
        "",
        400,
        '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
      ],
      [
        "/v3/kv/range",
        '{"key":"Zm9v"',
        400,
        '{"error":"unexpected EOF","message":"unexpected EOF","code":3}',
      ],
      [
        "/v3/kv/range",
        '{"key":"!!"}',
        400,
        '{"error":"illegal base64 data at input byte 0","message":"illegal base64 data at input byte 0","code":3}',
      ],
      [
        "/v3/kv/range",
        '{"key":"Zm9v","sort_order":"BOGUS"}',
        400,
        '{"error":"unknown value \\"BOGUS\\" for enum etcdserverpb.RangeRequest_SortOrder","message":"unknown value \\"BOGUS\\" for enum etcdserverpb.RangeRequest_SortOrder","code":3}',
      ],
      [
        "/v3/kv/range",
        "[]",
        400,
        '{"error":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","message":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","code":3}',
      ],
    ]
    for (const [path, body, status, expected] of session) {
      const res = await post(gw, path, body)
      expect({ path, body, status: res?.status, out: res?.body }).toEqual({
        path,
        body,
        status,
        out: expected,
      })
      expect(res?.type).toBe("application/json")
    }
  })

  test("methods and paths outside the API", async () => {
    const { gateway: gw } = makeGateway()
    const get = await post(gw, "/v3/kv/range", "", "GET")
    expect(get).toEqual({ status: 405, body: "Method Not Allowed\n", type: "text/plain; charset=utf-8" })
    // Not ours: the HTTP listener's other handlers get the request.
    expect(await post(gw, "/v3/kv/rangex", "{}")).toBeUndefined()
    expect(await post(gw, "/readyz", "{}")).toBeUndefined()
    // etcd 3.4 has no gateway route for HashKV (it is bound to /v3/maintenance/hash, where Hash wins).
    expect(await post(gw, "/v3/maintenance/hashkv", "{}")).toBeUndefined()
    // The deprecated /v3beta prefix is still served, /v3alpha is not.
    expect((await post(gw, "/v3beta/kv/range", '{"key":"YQ=="}'))?.status).toBe(200)
    expect(await post(gw, "/v3alpha/kv/range", '{"key":"YQ=="}')).toBeUndefined()
  })

  test("status and hash carry a full header; a leaderless member reports 'no leader'", async () => {
    const { backend, gateway: gw } = makeGateway()
    await post(gw, "/v3/kv/put", '{"key":"YQ==","value":"MQ=="}')
    const status = await post(gw, "/v3/maintenance/status", "{}")
    expect(status?.body).toBe(
      `{${HDR(2)},"version":"3.4.0","dbSize":"4096","leader":"13668033151171901709","raftIndex":"5","raftTerm":"2","raftAppliedIndex":"5","dbSizeInUse":"4096"}`,
    )
    const hash = await post(gw, "/v3/maintenance/hash", "{}")
    expect(hash?.body).toMatch(new RegExp(`^\\{${HDR(2).replace(/[{}]/g, "\\$&")},"hash":\\d+\\}$`))
    backend.leader = 0n
    const leaderless = await post(gw, "/v3/maintenance/status", "{}")
    expect(leaderless?.body).toContain(`"errors":["etcdserver: no leader"]`)
    // LIN-BOUND: a linearizable read fails closed with UNAVAILABLE (HTTP 503); a serializable one is served.
    const lin = await post(gw, "/v3/kv/range", '{"key":"YQ=="}')
    expect(lin).toEqual({
      status: 503,
      body: '{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}',
      type: "application/json",
    })
    const ser = await post(gw, "/v3/kv/range", '{"key":"YQ==","serializable":true}')
    expect(ser?.status).toBe(200)
    expect(ser?.body).toContain('"count":"1"')
  })

  test("snapshot streams newline-delimited {result} frames ending with the SHA-256", async () => {
    const { backend, gateway: gw } = makeGateway()
    await post(gw, "/v3/kv/put", '{"key":"YQ==","value":"MQ=="}')
    const data = backend.snapshotBytes()
    const res = await post(gw, "/v3/maintenance/snapshot", "{}")
    expect(res?.status).toBe(200)
    const lines = res!.body.split("\n")
    expect(lines.at(-1)).toBe("")
    const frames = lines
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { result: { blob: string; remaining_bytes?: string } })
    for (const f of frames) expect(Object.keys(f)).toEqual(["result"])
    const blobs = frames.map((f) => Buffer.from(f.result.blob, "base64"))
    const body = Buffer.concat(blobs.slice(0, -1))
    expect(body.equals(Buffer.from(data))).toBe(true)
    expect(blobs.at(-1)!.equals(createHash("sha256").update(data).digest())).toBe(true)
    // 32 KiB pieces; remaining_bytes counts down and is omitted once it reaches 0.
    expect(blobs[0]!.length).toBe(32 * 1024)
    expect(frames[0]!.result.remaining_bytes).toBe(String(data.length - 32 * 1024))
    expect(frames.at(-1)!.result.remaining_bytes).toBeUndefined()
  })
})

describe("lease endpoints, as etcd 3.4 answers them", () => {
  test("unknown leases: time-to-live -1, keep-alive TTL omitted (0), revoke NOT_FOUND", async () => {
    const { gateway: gw } = makeGateway()
    expect((await post(gw, "/v3/lease/timetolive", '{"ID":"5"}'))?.body).toBe(
      `{${HDR(1)},"ID":"5","TTL":"-1"}`,
    )
    expect((await post(gw, "/v3/kv/lease/timetolive", '{"ID":"5"}'))?.body).toBe(
      `{${HDR(1)},"ID":"5","TTL":"-1"}`,
    )
    const ka = await post(gw, "/v3/lease/keepalive", '{"ID":"5"}{"ID":"6"}')
    expect(ka?.body).toBe(`{"result":{${HDR(1)},"ID":"5"}}\n{"result":{${HDR(1)},"ID":"6"}}\n`)
    expect(await post(gw, "/v3/lease/revoke", '{"ID":"5"}')).toEqual({
      status: 404,
      body: '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}',
      type: "application/json",
    })
  })

  test("grant, keep-alive over a streamed body, leases", async () => {
    const { gateway: gw } = makeGateway()
    const g = JSON.parse((await post(gw, "/v3/lease/grant", '{"TTL":"30","ID":"77"}'))!.body)
    expect([g.ID, g.TTL]).toEqual(["77", "30"])
    expect((await post(gw, "/v3/lease/grant", '{"TTL":"30","ID":"77"}'))?.status).toBe(412)
    expect((await post(gw, "/v3/lease/grant", '{"TTL":"9000000001"}'))?.body).toContain("too large lease TTL")
    // The request body arrives in pieces that split a JSON value.
    const parts = ['{"ID":', '"77"}\n{"I', 'D":"77"}']
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = parts.shift()
        if (p === undefined) c.close()
        else c.enqueue(new TextEncoder().encode(p))
      },
    })
    const res = await gw(new Request("http://x/v3/lease/keepalive", { method: "POST", body }))
    const frames = (await res!.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).result)
    expect(frames.map((f) => [f.ID, f.TTL])).toEqual([
      ["77", "30"],
      ["77", "30"],
    ])
    expect(JSON.parse((await post(gw, "/v3/lease/leases", "{}"))!.body).leases).toEqual([{ ID: "77" }])
  })
})

describe("the gateway behind a real Bun.serve listener", () => {
  test("unary calls, a streamed snapshot, oversized bodies and fall-through", async () => {
    const backend = new MemoryEtcdBackend()
    const gateway = createEtcdGateway(new EtcdService(backend, { maxRequestBytes: 4096 }))
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => gateway(req) ?? new Response("other handler", { status: 299 }),
    })
    try {
      const url = (p: string) => `http://127.0.0.1:${server.port}${p}`
      const put = await fetch(url("/v3/kv/put"), { method: "POST", body: '{"key":"YQ==","value":"Yg=="}' })
      expect(put.status).toBe(200)
      expect(put.headers.get("grpc-metadata-content-type")).toBe("application/grpc")
      const snap = await fetch(url("/v3/maintenance/snapshot"), { method: "POST", body: "{}" })
      const frames = (await snap.text()).trim().split("\n")
      expect(frames.length).toBe(Math.ceil(backend.snapshotBytes().length / (32 * 1024)) + 1)
      const big = await fetch(url("/v3/kv/put"), {
        method: "POST",
        body: JSON.stringify({ key: "YQ==", value: Buffer.alloc(20_000).toString("base64") }),
      })
      expect(big.status).toBe(400)
      expect(await big.text()).toBe(
        '{"error":"etcdserver: request is too large","message":"etcdserver: request is too large","code":3}',
      )
      const other = await fetch(url("/healthz"))
      expect([other.status, await other.text()]).toEqual([299, "other handler"])
    } finally {
      server.stop(true)
    }
  })
})

describe("watch over the gateway, as etcd 3.4 answers it", () => {
  /** Reads `n` newline-delimited frames of a never-ending stream, then hangs up. */
  const frames = async (gw: ReturnType<typeof createEtcdGateway>, body: string, n: number) => {
    const res = await gw(new Request("http://x/v3/watch", { method: "POST", body }))
    const reader = res!.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    while (text.split("\n").length <= n) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    await reader.cancel()
    return text.split("\n").slice(0, n)
  }
  const HDR0 =
    '"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","raft_term":"2"}'

  test("catch-up from a past revision with prev_kv, in one response", async () => {
    const { gateway: gw } = makeGateway()
    await post(gw, "/v3/kv/put", '{"key":"d2sx","value":"YQ=="}')
    await post(gw, "/v3/kv/put", '{"key":"d2sx","value":"Yg=="}')
    await post(gw, "/v3/kv/deleterange", '{"key":"d2sx"}')
    const got = await frames(gw, '{"create_request":{"key":"d2sx","start_revision":"2","prev_kv":true}}', 2)
    expect(got).toEqual([
      `{"result":{${HDR(4)},"created":true}}`,
      `{"result":{${HDR(4)},"events":[{"kv":{"key":"d2sx","create_revision":"2","mod_revision":"2","version":"1","value":"YQ=="}},{"kv":{"key":"d2sx","create_revision":"2","mod_revision":"3","version":"2","value":"Yg=="},"prev_kv":{"key":"d2sx","create_revision":"2","mod_revision":"2","version":"1","value":"YQ=="}},{"type":"DELETE","kv":{"key":"d2sx","mod_revision":"4"},"prev_kv":{"key":"d2sx","create_revision":"2","mod_revision":"3","version":"2","value":"Yg=="}}]}}`,
    ])
  })

  test("progress, cancel, duplicate ids, compacted start, live events and filters", async () => {
    const { gateway: gw, backend } = makeGateway()
    expect(
      await frames(
        gw,
        '{"create_request":{"key":"d2sx"}}{"progress_request":{}}{"cancel_request":{"watch_id":"0"}}',
        3,
      ),
    ).toEqual([
      `{"result":{${HDR(1)},"created":true}}`,
      `{"result":{${HDR(1)},"watch_id":"-1"}}`,
      `{"result":{${HDR(1)},"canceled":true}}`,
    ])
    expect(
      await frames(
        gw,
        '{"create_request":{"key":"d2sx","watch_id":"7"}}{"create_request":{"key":"d2sx","watch_id":"7"}}',
        2,
      ),
    ).toEqual([
      `{"result":{${HDR(1)},"watch_id":"7","created":true}}`,
      `{"result":{${HDR(1)},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: duplicate watch ID provided on the WatchStream"}}`,
    ])
    for (const v of ["YQ==", "Yg==", "Yw=="]) await post(gw, "/v3/kv/put", `{"key":"d2sx","value":"${v}"}`)
    await post(gw, "/v3/kv/compaction", '{"revision":"3"}')
    expect(await frames(gw, '{"create_request":{"key":"d2sx","start_revision":"2"}}', 2)).toEqual([
      `{"result":{${HDR(4)},"created":true}}`,
      `{"result":{${HDR0},"canceled":true,"compact_revision":"3"}}`,
    ])
    // Live: a prefix watch that filters out deletes sees the put, not the delete. The writes
    // happen only after the created response, so the watcher is registered by then.
    const res = await gw(
      new Request("http://x/v3/watch", {
        method: "POST",
        body: '{"create_request":{"key":"ZA==","range_end":"ZQ==","filters":["NODELETE"]}}',
      }),
    )
    const reader = res!.body!.getReader()
    const decoder = new TextDecoder()
    const frame = async () => decoder.decode((await reader.read()).value).trimEnd()
    expect(await frame()).toBe(`{"result":{${HDR(4)},"created":true}}`)
    await post(gw, "/v3/kv/deleterange", '{"key":"d2sx"}')
    await post(gw, "/v3/kv/put", '{"key":"ZHg=","value":"MQ=="}')
    expect(await frame()).toBe(
      `{"result":{${HDR(6)},"events":[{"kv":{"key":"ZHg=","create_revision":"6","mod_revision":"6","version":"1","value":"MQ=="}}]}}`,
    )
    await reader.cancel()
    // Hanging up releases every watcher of the stream.
    for (let i = 0; i < 100 && backend.watcherCount > 0; i++) await Bun.sleep(5)
    expect(backend.watcherCount).toBe(0)
  })
})
