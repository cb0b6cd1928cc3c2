/** Builds a replica's state at start or restart from what the caller loaded from durable storage. */
import type { PersistedState, RaftConfig } from "./api.ts"
import { lastIndex, makeLog } from "./log.ts"
import { rebuildConf } from "./log-ops.ts"
import { emptyOutbox, passiveRole, type RaftState, type ResolvedConfig } from "./state.ts"
import { hashId, resetElectionTimer } from "./timers.ts"

const resolveConfig = (config: RaftConfig): ResolvedConfig => {
  if (!(config.heartbeatTicks > 0 && config.heartbeatTicks < config.electionTicks)) {
    throw new Error("raft: need 0 < heartbeatTicks < electionTicks")
  }
  if (config.electionJitterTicks !== undefined && !(config.electionJitterTicks >= 1)) {
    throw new Error("raft: need electionJitterTicks >= 1")
  }
  if (config.maxEntriesPerAppend < 1 || config.maxInflightAppends < 1) {
    throw new Error("raft: maxEntriesPerAppend and maxInflightAppends must be >= 1")
  }
  return {
    ...config,
    transferTimeoutTicks: config.transferTimeoutTicks ?? config.electionTicks,
    electionJitterTicks: config.electionJitterTicks ?? config.electionTicks,
  }
}

export const initRaft = (config: RaftConfig, persisted: PersistedState): RaftState => {
  const cfg = resolveConfig(config)
  const snap = persisted.snapshot
  const floorIndex = snap === null ? 0 : snap.meta.index
  const floorTerm = snap === null ? 0 : snap.meta.term
  // Entries the snapshot already covers (kept for slow followers) are dropped at restart.
  const entries = persisted.entries.filter((e) => e.index > floorIndex)
  entries.forEach((e, i) => {
    if (e.index !== floorIndex + 1 + i) throw new Error(`raft: persisted log not contiguous at ${e.index}`)
  })
  const log = makeLog(floorIndex, floorTerm, entries)
  const last = lastIndex(log)
  const hs = persisted.hardState
  const commit = Math.min(Math.max(hs.commit, floorIndex), last)
  const applied = Math.min(Math.max(persisted.applied ?? 0, floorIndex), commit)
  const base =
    snap === null ? { index: 0, conf: persisted.bootstrapConf } : { index: floorIndex, conf: snap.meta.conf }
  const s: RaftState = {
    config: cfg,
    id: cfg.id,
    group: cfg.group,
    term: hs.term,
    vote: hs.vote,
    commit,
    role: "follower",
    leader: null,
    log,
    snapshot: snap,
    persistedIndex: last,
    applied,
    handedOut: applied,
    conf: base.conf,
    voters: new Set(),
    learners: new Set(),
    confBase: base,
    confIndexes: entries.filter((e) => e.type === "conf").map((e) => e.index),
    pendingConfIndex: 0,
    electionElapsed: 0,
    heartbeatElapsed: 0,
    randomizedElectionTimeout: cfg.electionTicks,
    rng: (cfg.seed ^ hashId(cfg.id)) | 0,
    votes: new Map(),
    progress: new Map(),
    transferee: null,
    transferElapsed: 0,
    readContext: 0,
    readRound: null,
    readQueue: [],
    foreignMessages: 0,
    out: emptyOutbox(),
    lastHard: { term: hs.term, vote: hs.vote, commit },
    lastSoft: { role: "follower", leader: null, term: hs.term },
  }
  rebuildConf(s)
  s.role = passiveRole(s)
  s.lastSoft = { role: s.role, leader: null, term: s.term }
  resetElectionTimer(s)
  return s
}
