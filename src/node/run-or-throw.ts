/** Runs an Effect as a Promise and rethrows its failure as is (the etcd adapter needs the EtcdError instance). */
import { Cause, Effect, Exit } from "effect"

export const runOrThrow = async <A>(effect: Effect.Effect<A, unknown>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") throw failure.value
  throw Cause.squash(exit.cause)
}
