/**
 * etcd's Cluster service (`etcdctl member add | remove | promote | update`) over Lattice's Raft
 * membership, answering as etcd 3.4 does:
 *  - MemberAdd names no node, only peer URLs: the new member is the configured peer
 *    (`[[cluster.peers]] address`) with one of those URLs, or else the node id is the URL's host
 *    name up to its first dot (`http://n4:2380`, `http://n4.lattice.internal:2380`). `--learner`
 *    adds a learner that etcdctl must promote (as etcd; `lattice admin add-node` promotes by
 *    itself); without it the member is a voter at once, as etcd does.
 *  - MemberPromote of a learner that has not caught up fails with etcd's "can only promote a
 *    learner member which is in sync with leader".
 *  - MemberUpdate: replicas talk over NATS, so peer URLs only come from the configuration.
 */
import { Effect } from "effect"
import { EtcdError, EtcdErrors, GrpcCode } from "../adapters/etcd/errors.ts"
import type * as pb from "../adapters/etcd/proto/etcd.gen.ts"
import { addMember, membershipFailureText, promoteNode, removeNode } from "./admin-membership.ts"
import { memberIdOf } from "./ids.ts"
import type { MembershipFailure } from "./membership.ts"
import { KV_GROUP, type LatticeNode } from "./node.ts"

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/

/** The node id a MemberAdd's peer URLs name, or null. */
export const nodeIdForPeerUrls = (node: LatticeNode, urls: readonly string[]): string | null => {
  for (const [id, known] of Object.entries(node.options.peerUrls))
    if (known.some((u) => urls.includes(u))) return id
  for (const u of urls) {
    let host: string
    try {
      host = new URL(u).hostname
    } catch {
      continue
    }
    const first = host.split(".")[0] ?? ""
    if (!IPV4.test(host) && !host.includes(":") && NODE_ID.test(first)) return first
  }
  return null
}

const etcdErrorOfMembership = (f: MembershipFailure): EtcdError => {
  if (f._tag === "ConfChangeRefused") {
    if (f.reason.includes("not caught up")) return EtcdErrors.learnerNotReady()
    return new EtcdError(GrpcCode.FAILED_PRECONDITION, `etcdserver: ${f.reason}`)
  }
  if (f._tag === "MembershipTimedOut") return EtcdErrors.timeout()
  return new EtcdError(GrpcCode.UNAVAILABLE, `etcdserver: ${membershipFailureText(f)}`)
}

const runMembership = async (effect: Effect.Effect<void, MembershipFailure>): Promise<void> => {
  const r = await Effect.runPromise(Effect.either(effect))
  if (r._tag === "Left") throw etcdErrorOfMembership(r.left)
}

const idOfMember = (node: LatticeNode, id: bigint): string | null => {
  const conf = node.group(KV_GROUP)?.view.status.conf
  return [...(conf?.voters ?? []), ...(conf?.learners ?? [])].find((n) => memberIdOf(n) === id) ?? null
}

export class EtcdCluster {
  constructor(
    private readonly node: LatticeNode,
    private readonly members: () => Promise<readonly pb.Member[]>,
  ) {}

  async addMember(
    peerURLs: readonly string[],
    isLearner: boolean,
  ): Promise<{ member: pb.Member; members: pb.Member[] }> {
    const id = nodeIdForPeerUrls(this.node, peerURLs)
    if (id === null)
      throw new EtcdError(
        GrpcCode.INVALID_ARGUMENT,
        `etcdserver: no node is known by peer URLs ${peerURLs.join(",")}: list it in [[cluster.peers]] with that address, use http://<node-id>:<port>, or run lattice admin add-node <node-id>`,
      )
    if ((await this.members()).some((m) => m.ID === memberIdOf(id))) throw EtcdErrors.memberExist()
    await runMembership(addMember(this.node, id, isLearner))
    const members = [...(await this.members())]
    const member = members.find((m) => m.ID === memberIdOf(id)) ?? {
      ID: memberIdOf(id),
      name: "",
      peerURLs: [...peerURLs],
      clientURLs: [],
      isLearner,
    }
    return { member: { ...member, name: "", peerURLs: [...peerURLs] }, members }
  }

  async removeMember(id: bigint): Promise<pb.Member[]> {
    const nodeId = idOfMember(this.node, id)
    if (nodeId === null) throw EtcdErrors.memberNotFound()
    await runMembership(removeNode(this.node, nodeId))
    return [...(await this.members())]
  }

  async promoteMember(id: bigint): Promise<pb.Member[]> {
    const nodeId = idOfMember(this.node, id)
    if (nodeId === null) throw EtcdErrors.memberNotFound()
    await runMembership(promoteNode(this.node, nodeId))
    return [...(await this.members())]
  }

  async updateMember(id: bigint, peerURLs: readonly string[]): Promise<pb.Member[]> {
    const members = [...(await this.members())]
    const m = members.find((x) => x.ID === id)
    if (m === undefined) throw EtcdErrors.memberNotFound()
    const same =
      (m.peerURLs ?? []).length === peerURLs.length && peerURLs.every((u) => (m.peerURLs ?? []).includes(u))
    if (!same)
      throw new EtcdError(
        GrpcCode.FAILED_PRECONDITION,
        "etcdserver: Lattice replicas talk over NATS; peer URLs come from each node's [[cluster.peers]] address: change it there and restart the nodes",
      )
    return members
  }
}
