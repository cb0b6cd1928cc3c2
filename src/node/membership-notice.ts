/**
 * Tells the operator, in the node's log, when this node becomes a member of a group (a joining
 * node added by `lattice admin add-node`, then promoted) and when it stops being one (removed
 * with `lattice admin remove-node`): a removed node no longer takes part in that group.
 */
import { Duration, Effect, Schedule } from "effect"
import type { GroupId } from "../../schemas/raft.ts"
import type { LatticeNode } from "./node.ts"

type Standing = "voter" | "learner" | "none"

export const watchMembership = (node: LatticeNode, log: (line: string) => void): Effect.Effect<never> => {
  const last = new Map<GroupId, Standing>()
  const self = node.options.nodeId
  const check = Effect.sync(() => {
    for (const g of node.supervisor.groups()) {
      const st = node.group(g)?.view.status
      if (st === undefined) continue
      const now: Standing = st.conf.voters.includes(self)
        ? "voter"
        : st.conf.learners.includes(self)
          ? "learner"
          : "none"
      const before = last.get(g)
      last.set(g, now)
      if (before === undefined) {
        if (now === "none")
          log(
            `lattice: node ${self} is not a member of group ${g} yet: waiting to be added (lattice admin add-node ${self})`,
          )
        continue
      }
      if (before === now) continue
      if (now === "none")
        log(
          `lattice: node ${self} was removed from group ${g}: it no longer takes part; stop it and clear its data directory before reusing the id`,
        )
      else log(`lattice: node ${self} is now a ${now} of group ${g}`)
    }
  })
  return Effect.repeat(check, Schedule.spaced(Duration.millis(250))).pipe(Effect.andThen(Effect.never))
}
