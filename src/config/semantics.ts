/**
 * Checks that span several keys, run after the schema has accepted each key on its own.
 */
import type { LatticeConfig } from "../../schemas/config.ts"
import type { ConfigIssue } from "./error.ts"

const listenerIssues = (config: LatticeConfig): ConfigIssue[] => {
  const bound: Array<readonly [string, string | undefined]> = [
    ["listeners.etcd", config.listeners.etcd],
    ["listeners.http", config.listeners.http],
    ["listeners.redis", config.listeners.redis],
    ["listeners.memcached", config.listeners.memcached],
    ["telemetry.metrics_bind", config.telemetry.metrics_bind],
  ]
  const seen = new Map<string, string>()
  const issues: ConfigIssue[] = []
  for (const [path, address] of bound) {
    // Port 0 means "any free port" and never clashes.
    if (address === undefined || address.endsWith(":0")) continue
    const other = seen.get(address)
    if (other !== undefined) issues.push({ path, message: `${address} is already used by ${other}` })
    else seen.set(address, path)
  }
  return issues
}

const membershipIssues = (config: LatticeConfig): ConfigIssue[] => {
  const issues: ConfigIssue[] = []
  const peerIds = new Set<string>()
  config.cluster.peers.forEach((peer, i) => {
    if (peerIds.has(peer.id))
      issues.push({ path: `cluster.peers[${i}].id`, message: `node id "${peer.id}" is listed twice` })
    peerIds.add(peer.id)
  })
  const members = new Set(config.cluster.members)
  if (members.size !== config.cluster.members.length)
    issues.push({ path: "cluster.members", message: "a node id is listed twice" })
  const all = new Set([...members, ...peerIds])
  // A joining node is not a member yet: it is added by `lattice admin add-node`.
  if (all.size > 0 && !all.has(config.node.id) && !config.cluster.join)
    issues.push({
      path: "node.id",
      message: `"${config.node.id}" is not among the cluster members (${[...all].join(", ")}); add it to cluster.members or cluster.peers, or start it with --join to add it to a running cluster`,
    })
  if (config.cluster.join && [...all].filter((id) => id !== config.node.id).length === 0)
    issues.push({
      path: "cluster.join",
      message:
        "a joining node needs the cluster's current voters in cluster.members (--members n1,n2,n3), so it never bootstraps a cluster of its own",
    })
  return issues
}

const consensusIssues = (config: LatticeConfig): ConfigIssue[] =>
  config.consensus.election_ticks > config.consensus.heartbeat_ticks
    ? []
    : [
        {
          path: "consensus.election_ticks",
          message: `must be greater than consensus.heartbeat_ticks (${config.consensus.heartbeat_ticks}); 10x is usual`,
        },
      ]

const readinessIssues = (config: LatticeConfig): ConfigIssue[] =>
  config.admin.readiness_probe_interval_ms < config.admin.cp_cache_ttl_seconds * 1000
    ? []
    : [
        {
          path: "admin.readiness_probe_interval_ms",
          message: `must be below admin.cp_cache_ttl_seconds (${config.admin.cp_cache_ttl_seconds} s), or the cache goes stale between probes; 1000 is usual`,
        },
      ]

const tlsIssues = (config: LatticeConfig): ConfigIssue[] => {
  const nats = config.tls.nats
  if (nats === undefined || (nats.cert_file === undefined) === (nats.key_file === undefined)) return []
  return [{ path: "tls.nats", message: "cert_file and key_file must be given together" }]
}

const tenantIssues = (config: LatticeConfig): ConfigIssue[] => {
  const seen = new Set<string>()
  const issues: ConfigIssue[] = []
  config.tenants.bootstrap.forEach((t, i) => {
    if (seen.has(t.name))
      issues.push({ path: `tenants.bootstrap[${i}].name`, message: `tenant "${t.name}" is listed twice` })
    seen.add(t.name)
  })
  return issues
}

export const semanticIssues = (config: LatticeConfig): ConfigIssue[] => [
  ...membershipIssues(config),
  ...listenerIssues(config),
  ...consensusIssues(config),
  ...readinessIssues(config),
  ...tlsIssues(config),
  ...tenantIssues(config),
]
