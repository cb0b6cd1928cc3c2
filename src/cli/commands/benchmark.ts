/**
 * `lattice benchmark [SECONDS | put | get | mixed] [--keys N] [--value-size B] [--concurrency C]
 * [--read-ratio R] [--seconds S] [--endpoints host:port,…] [--consistency l|s] [--format table|json]`:
 * load against a running cluster over the etcd gRPC API, with src/bench/ (the same closed loop,
 * client and percentiles as bench/etcd-compare, so the figures compare).
 */
import { Effect } from "effect"
import { ClusterClient } from "../../bench/client.ts"
import {
  preloadKeys,
  reachableEndpoints,
  runWorkload,
  type Workload,
  type WorkloadOptions,
  type WorkloadResult,
} from "../../bench/workload.ts"
import { type CliIO, type Command, ExitCode, type ParsedInput } from "../framework/types.ts"
import { usageError } from "./report.ts"

export const DEFAULT_GRPC_ENDPOINT = "127.0.0.1:2379"
const NAME = "lattice benchmark"

interface Parsed extends WorkloadOptions {
  readonly format: "table" | "json"
}

/** A flag's value as a number within bounds, or the message saying what is wrong. */
const numberFlag = (
  input: ParsedInput,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  want: string,
): number | string => {
  const raw = input.string(name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  return raw.trim() !== "" && Number.isFinite(n) && check(n) ? n : `--${name} must be ${want}, got "${raw}"`
}

const parse = (input: ParsedInput, env: CliIO["env"]): Parsed | string => {
  const first = input.args[0]
  let workload: Workload = "mixed"
  let positionalSeconds: number | undefined
  if (first !== undefined) {
    if (first === "put" || first === "get" || first === "mixed") workload = first
    else if (/^\d+(\.\d+)?$/.test(first) && Number(first) > 0) positionalSeconds = Number(first)
    else return `expected SECONDS (a positive number) or a workload (put, get, mixed), got "${first}"`
  }
  if (positionalSeconds !== undefined && input.string("seconds") !== undefined)
    return "give the run length once: either SECONDS or --seconds"
  const seconds = numberFlag(
    input,
    "seconds",
    positionalSeconds ?? 10,
    (n) => n > 0,
    "a positive number of seconds",
  )
  const keys = numberFlag(input, "keys", 1000, (n) => Number.isInteger(n) && n >= 1, "a whole number ≥ 1")
  const valueSize = numberFlag(
    input,
    "value-size",
    256,
    (n) => Number.isInteger(n) && n >= 0 && n <= 1_048_576,
    "a whole number of bytes from 0 to 1048576",
  )
  const concurrency = numberFlag(
    input,
    "concurrency",
    64,
    (n) => Number.isInteger(n) && n >= 1 && n <= 10_000,
    "a whole number from 1 to 10000",
  )
  const readRatio = numberFlag(input, "read-ratio", 0.5, (n) => n >= 0 && n <= 1, "a number from 0 to 1")
  for (const v of [seconds, keys, valueSize, concurrency, readRatio]) if (typeof v === "string") return v
  if (input.string("read-ratio") !== undefined && workload !== "mixed")
    return `--read-ratio applies to mixed runs only (this is a ${workload} run)`
  const consistency = input.string("consistency") ?? "l"
  if (consistency !== "l" && consistency !== "s")
    return `--consistency must be l (linearizable) or s (serializable), got "${consistency}"`
  const format = input.string("format") ?? "table"
  if (format !== "table" && format !== "json") return `--format must be table or json, got "${format}"`
  const endpoints = (input.string("endpoints") ?? env.LATTICE_GRPC_ENDPOINTS ?? DEFAULT_GRPC_ENDPOINT)
    .split(",")
    .map((e) => e.trim().replace(/^(grpc|https?):\/\//, ""))
    .filter((e) => e !== "")
  const bad = endpoints.find((e) => !/^[^:\s/]+:\d{1,5}$/.test(e))
  if (endpoints.length === 0 || bad !== undefined)
    return `--endpoints wants host:port[,host:port…] (the nodes' etcd gRPC listeners), got "${bad ?? ""}"`
  return {
    workload,
    endpoints,
    keys: keys as number,
    valueSize: valueSize as number,
    concurrency: concurrency as number,
    readRatio: workload === "put" ? 0 : workload === "get" ? 1 : (readRatio as number),
    seconds: seconds as number,
    serializable: consistency === "s",
    format,
  }
}

const ms = (n: number): string => (Number.isNaN(n) ? "-" : n.toFixed(2))

const renderTable = (p: Parsed, r: WorkloadResult): string => {
  const rows: [string, string][] = [
    ["workload", `${r.workload}${r.workload === "mixed" ? ` (${Math.round(p.readRatio * 100)}% gets)` : ""}`],
    ["endpoints", p.endpoints.join(",")],
    ["concurrency", String(p.concurrency)],
    ["keys / value size", `${p.keys} / ${p.valueSize} B`],
    ["reads", p.serializable ? "serializable" : "linearizable"],
    ["duration", `${r.seconds} s`],
    ["ops", String(r.ops)],
    ["throughput", `${r.opsPerSec.toFixed(0)} ops/s`],
    ["latency p50", `${ms(r.latencyMs.p50)} ms`],
    ["latency p90", `${ms(r.latencyMs.p90)} ms`],
    ["latency p99", `${ms(r.latencyMs.p99)} ms`],
    ["latency p99.9", `${ms(r.latencyMs.p999)} ms`],
    ["errors", String(r.errors)],
    ...r.firstErrors.map((m, i): [string, string] => [i === 0 ? "first errors" : "", m]),
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`
}

const run = (p: Parsed, io: CliIO): Promise<number> => {
  const client = new ClusterClient(p.endpoints)
  const go = async (): Promise<number> => {
    const up = await reachableEndpoints(client)
    if (up.length === 0) {
      io.stderr(
        `error: no endpoint answered: ${p.endpoints.join(", ")}\n` +
          "Start one with `lattice dev`, or pass the cluster's etcd gRPC listeners with --endpoints host:port,…\n",
      )
      return ExitCode.unavailable
    }
    const client2 = up.length === p.endpoints.length ? client : new ClusterClient(up)
    if (client2 !== client)
      io.stderr(
        `warning: ${p.endpoints.length - up.length} endpoint(s) did not answer; using ${up.join(", ")}\n`,
      )
    try {
      if (p.workload !== "put") {
        io.stderr(`writing ${p.keys} keys of ${p.valueSize} B so gets find values…\n`)
        await preloadKeys(client2, p.keys, p.valueSize, p.concurrency, (n) =>
          io.stderr(`  ${n}/${p.keys} keys written\n`),
        )
      }
      io.stderr(
        `${p.workload} for ${p.seconds} s, ${p.concurrency} in flight, over ${up.length} endpoint(s)\n`,
      )
      const result = await runWorkload(
        p,
        (pr) =>
          io.stderr(`  ${pr.elapsedSeconds.toFixed(0)} s: ${pr.ops} ops, ${pr.rate.toFixed(0)} ops/s\n`),
        client2,
      )
      if (p.format === "json") {
        const { format: _format, ...options } = p
        io.stdout(`${JSON.stringify({ options, ...result }, null, 2)}\n`)
      } else io.stdout(renderTable(p, result))
      return result.errors > 0 ? ExitCode.failure : ExitCode.ok
    } finally {
      if (client2 !== client) client2.close()
    }
  }
  return go().finally(() => client.close())
}

export const benchmarkCommand: Command = {
  name: "benchmark",
  summary: "load a running cluster (put, get or mixed) and print throughput, latency percentiles and errors",
  description:
    "Runs a closed loop of CONCURRENCY requests against the cluster's etcd gRPC listeners (round-robin\n" +
    "over --endpoints), with the same load generator and percentiles as bench/etcd-compare. SECONDS alone\n" +
    "means a mixed run of that length. Progress goes to stderr once a second; the result (ops, ops/s,\n" +
    "latency p50/p90/p99/p99.9 in ms, errors with the first messages) to stdout. get and mixed runs first\n" +
    "write every key once. Exit status 0 when no request failed, 1 when some did, 69 when no endpoint answered.",
  args: [
    {
      name: "SECONDS|WORKLOAD",
      description: "run length for a mixed run, or the workload: put, get or mixed (default: mixed, 10 s)",
      optional: true,
    },
  ],
  flags: [
    { name: "seconds", type: "string", placeholder: "S", description: "run length in seconds (default 10)" },
    {
      name: "keys",
      type: "string",
      placeholder: "N",
      description: "distinct keys, bench/key/0… (default 1000)",
    },
    {
      name: "value-size",
      type: "string",
      placeholder: "B",
      description: "value size in bytes (default 256)",
    },
    { name: "concurrency", type: "string", placeholder: "C", description: "requests in flight (default 64)" },
    {
      name: "read-ratio",
      type: "string",
      placeholder: "R",
      description: "share of gets in a mixed run, 0 to 1 (default 0.5)",
    },
    {
      name: "consistency",
      type: "string",
      placeholder: "l|s",
      description: "gets are linearizable (l, default) or serializable (s)",
    },
    {
      name: "endpoints",
      type: "string",
      placeholder: "HOST:PORT[,…]",
      description: `etcd gRPC listeners (default $LATTICE_GRPC_ENDPOINTS, else ${DEFAULT_GRPC_ENDPOINT})`,
    },
    { name: "format", type: "string", placeholder: "FORMAT", description: "table (default) or json" },
  ],
  examples: [
    "lattice benchmark 30",
    "lattice benchmark put --keys 10000 --value-size 1024 --concurrency 128 --seconds 20",
    "lattice benchmark get --consistency s --endpoints 10.0.1.11:2379,10.0.1.12:2379,10.0.1.13:2379",
    "lattice benchmark mixed --read-ratio 0.9 --format json > run.json",
  ],
  run: (input, io) =>
    Effect.suspend(() => {
      const parsed = parse(input, io.env)
      if (typeof parsed === "string") return usageError(io, NAME, parsed)
      return Effect.promise(() => run(parsed, io))
    }),
}
