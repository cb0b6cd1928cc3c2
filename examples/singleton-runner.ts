/**
 * A singleton task runner: several instances run, exactly one (the elected leader) runs the
 * periodic tasks, like the dashboard's cleanup worker (30 s lease, renewed every 10 s; if the
 * leader dies another instance takes over within the lease duration). Writes made for the
 * leader are fenced with its leader key, so a paused ex-leader cannot overwrite the new one.
 *
 *   bun examples/singleton-runner.ts --endpoints 127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579
 *
 * Run it in two terminals against `lattice dev`, stop the leader with Ctrl-C, and watch the
 * other take over. See examples/README.md.
 */
import { hostname } from "node:os"
import { parseArgs } from "node:util"
import { connect, leaderElection, text } from "../src/sdk/index.ts"

const USAGE = `singleton-runner: run periodic tasks on exactly one instance (leader election)

Usage:
  bun examples/singleton-runner.ts [flags]

Flags:
  --endpoints LIST        gRPC endpoints, comma-separated (default 127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579)
  --name NAME             election name (default cleanup-worker)
  --identity ID           this instance's name (default <hostname>-<pid>)
  --lease-duration SEC    leader lease (default 30)
  --renew-deadline SEC    stop leading when renewals fail this long (default 20)
  --retry-period SEC      renewal and retry period (default 10)
  --task-interval SEC     how often the tasks run while leading (default 15)
  --run-for SEC           exit after this long (default: until Ctrl-C)
  -h, --help              this help

Example:
  lattice dev &
  bun examples/singleton-runner.ts --identity a &
  bun examples/singleton-runner.ts --identity b
`

const fail = (message: string): never => {
  console.error(`error: ${message}\n\n${USAGE}`)
  process.exit(2)
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        endpoints: { type: "string", default: "127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579" },
        name: { type: "string", default: "cleanup-worker" },
        identity: { type: "string", default: `${hostname()}-${process.pid}` },
        "lease-duration": { type: "string", default: "30" },
        "renew-deadline": { type: "string", default: "20" },
        "retry-period": { type: "string", default: "10" },
        "task-interval": { type: "string", default: "15" },
        "run-for": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  } catch (err) {
    return fail((err as Error).message)
  }
})()
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const seconds = (flag: string, v: string | undefined): number => {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) fail(`--${flag} must be a positive number of seconds, got "${v}"`)
  return n * 1000
}
const leaseDuration = seconds("lease-duration", values["lease-duration"])
const renewDeadline = seconds("renew-deadline", values["renew-deadline"])
const retryPeriod = seconds("retry-period", values["retry-period"])
const taskInterval = seconds("task-interval", values["task-interval"])
const runFor = values["run-for"] === undefined ? undefined : seconds("run-for", values["run-for"])
const id = values.identity!
const log = (msg: string) => console.log(`${new Date().toISOString()} ${id}: ${msg}`)

const client = connect({ endpoints: values.endpoints!.split(",") })
const stop = new AbortController()
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => stop.abort())
if (runFor !== undefined) setTimeout(() => stop.abort(), runFor)

const te = new TextEncoder()
const elector = (() => {
  try {
    return leaderElection(client, {
      name: values.name!,
      identity: id,
      leaseDuration,
      renewDeadline,
      retryPeriod,
      onNewLeader: (leader) => log(leader === id ? "I am the leader" : `leader is ${leader}`),
      onStoppedLeading: () => log("stopped leading"),
      onStartedLeading: async (leading) => {
        log("started leading: running tasks")
        // The tasks: each run records itself, fenced by the leader key (a stale leader's write fails).
        for (let run = 1; !leading.aborted; run++) {
          for (const task of ["session-cleanup", "metrics-aggregation"]) {
            const owns = elector.owns()
            if (owns === undefined) return
            const res = await client.txn({
              compare: [owns],
              success: [
                {
                  requestPut: {
                    key: te.encode(`tasks/${task}/last-run`),
                    value: te.encode(JSON.stringify({ by: id, run, at: new Date().toISOString() })),
                  },
                },
              ],
            })
            log(res.succeeded ? `ran ${task} (run ${run})` : `skipped ${task}: no longer the leader`)
          }
          await client.clock.sleep(taskInterval, leading)
        }
      },
    })
  } catch (err) {
    return fail((err as Error).message)
  }
})()

log(`campaigning for "${values.name}" on ${client.endpoints.all.join(", ")}`)
while (!stop.signal.aborted) {
  await elector.run(stop.signal)
  if (!stop.signal.aborted) log("leadership lost: campaigning again")
}
const last = await client.get("tasks/", { prefix: true }).catch(() => undefined)
for (const kv of last?.kvs ?? []) log(`${text(kv.key)} = ${text(kv.value)}`)
client.close()
log("exited")
