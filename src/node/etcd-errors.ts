/** Maps why a node request failed to the etcd error a client sees (LIN-BOUND: UNAVAILABLE). */
import type { RequestFailure } from "../../actors/errors.ts"
import { type EtcdError, EtcdErrors } from "../adapters/etcd/errors.ts"
import type { RequestTimedOut } from "./node.ts"

export const etcdErrorOf = (failure: RequestFailure | RequestTimedOut): EtcdError => {
  switch (failure._tag) {
    case "NotLeader":
      return EtcdErrors.noLeader()
    case "LeaderChanged":
      return EtcdErrors.leaderChanged()
    case "ReadUnavailable":
      return failure.reason === "timeout" ? EtcdErrors.timeout() : EtcdErrors.noLeader()
    case "ReplicaStopped":
      return EtcdErrors.stopped()
    case "Overloaded":
      return EtcdErrors.tooManyRequests()
    case "RequestTimedOut":
      return EtcdErrors.timeout()
  }
}
