/**
 * Stable etcd-style uint64 ids: a member id derived from the node id, a cluster id from the
 * cluster name and its bootstrap members, so every node computes the same values with no
 * coordination (FNV-1a 64; 0 is avoided because etcd uses it for "none").
 */
const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n
const MASK = 0xffffffffffffffffn

const fnv1a64 = (text: string): bigint => {
  let h = FNV_OFFSET
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte)
    h = (h * FNV_PRIME) & MASK
  }
  return h === 0n ? 1n : h
}

export const memberIdOf = (nodeId: string): bigint => fnv1a64(`member:${nodeId}`)

export const clusterIdOf = (clusterName: string, members: readonly string[]): bigint =>
  fnv1a64(`cluster:${clusterName}:${[...members].sort().join(",")}`)
