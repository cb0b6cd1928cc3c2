/**
 * The value a leader proposes in its `tick` entries (pure; the LeaseKeeper actor and the
 * simulator both use it). The committed clock continues from the last committed value the leader
 * has applied, advanced by the leader's own monotonic clock from the moment it saw that value.
 * So a new leader neither resets the remaining TTLs (it does not start from 0 or from its own
 * uptime) nor shortens them (it never adds time that passed before it observed the value), and
 * while there is no leader the committed clock stands still.
 */

export interface LeaderClock {
  /** The term this clock belongs to: a new term starts over from the committed value. */
  readonly term: number
  /** A committed clock value (ms) the leader has applied… */
  readonly base: number
  /** …and the leader's monotonic time (ms) when it observed it. */
  readonly since: number
  /** The last tick number this leader proposed (or the committed one it started from). */
  readonly tick: number
}

export interface CommittedTime {
  /** The committed clock (ms) as applied by this replica. */
  readonly ms: number
  /** The last applied tick number. */
  readonly tick: number
}

/**
 * The leader clock after observing the committed clock at monotonic time `now` as leader of
 * `term`. Entries of a previous leader that apply after we took over may carry a larger value:
 * continue from it rather than from our own projection.
 */
export const followCommitted = (
  clock: LeaderClock | null,
  term: number,
  committed: CommittedTime,
  now: number,
): LeaderClock => {
  if (clock === null || clock.term !== term)
    return { term, base: committed.ms, since: now, tick: committed.tick }
  if (committed.ms > clock.base + (now - clock.since)) return { ...clock, base: committed.ms, since: now }
  return clock
}

/** The next tick entry's content at monotonic time `now`, and the clock that proposed it. */
export const nextTick = (
  clock: LeaderClock,
  committed: CommittedTime,
  now: number,
): [LeaderClock, { readonly tick: number; readonly ms: number }] => {
  const tick = Math.max(clock.tick, committed.tick) + 1
  return [
    { ...clock, tick },
    { tick, ms: clock.base + (now - clock.since) },
  ]
}
