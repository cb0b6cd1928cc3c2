#!/usr/bin/env bash
# rolling-restart.sh: restart (or upgrade) a Lattice cluster one node at a time, with zero failed
# client requests (docs/operations.md, "Rolling restart").
#
# For each node, in order:
#   1. the cluster must be healthy: quorum, every node ready, replication lag < MAX_LAG_SECONDS
#      (lattice admin cluster-status --max-lag-seconds, which reads lattice_replication_lag_seconds);
#   2. lattice admin drain --node-id NODE (readiness 503, new requests refused with "retry
#      elsewhere", in-flight requests finish, watches cancelled, leadership handed over, the node
#      demoted to an observer);
#   3. STOP_CMD, then UPGRADE_CMD (optional), then START_CMD;
#   4. lattice admin wait-ready --voter: the node answers /readyz 200 and is a voter again;
#   5. the cluster is healthy again (as in 1) before the next node.
# Any failure aborts the whole run (exit 1) and says where; a failed drain is cancelled first, so
# the node serves again.
#
# Usage: rolling-restart.sh NODE_ID [NODE_ID…]
# Environment (defaults in brackets):
#   ENDPOINTS         every node's HTTP listener, comma-separated [$LATTICE_ENDPOINTS, else http://127.0.0.1:2378]
#   LATTICE           the lattice command [lattice]
#   STOP_CMD          stops node {node}  [systemctl stop lattice@{node}]
#   START_CMD         starts node {node} [systemctl start lattice@{node}]
#   UPGRADE_CMD       run between stop and start, e.g. "cp /tmp/lattice-new /usr/local/bin/lattice" []
#   MAX_LAG_SECONDS   [1]
#   HEALTH_TIMEOUT    seconds to wait for a healthy cluster [120]
#   READY_TIMEOUT     seconds to wait for a restarted node to be ready and a voter [120]
#   DRAIN_TIMEOUT     seconds to follow a drain [120]
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}
if [ $# -eq 0 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  usage
  [ $# -eq 0 ] && exit 2 || exit 0
fi

ENDPOINTS=${ENDPOINTS:-${LATTICE_ENDPOINTS:-http://127.0.0.1:2378}}
LATTICE=${LATTICE:-lattice}
STOP_CMD=${STOP_CMD:-systemctl stop lattice@\{node\}}
START_CMD=${START_CMD:-systemctl start lattice@\{node\}}
UPGRADE_CMD=${UPGRADE_CMD:-}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-1}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-120}
READY_TIMEOUT=${READY_TIMEOUT:-120}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}

log() { printf '%s rolling-restart: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
abort() {
  log "ABORT: $*"
  exit 1
}
# Runs a command template with {node} replaced.
run_for() {
  local template=$1 node=$2
  local cmd=${template//\{node\}/$node}
  log "$ $cmd"
  bash -c "$cmd"
}
lattice() {
  # `command`: with the default LATTICE=lattice this function must run the binary, not itself.
  # shellcheck disable=SC2086 # LATTICE may be "bun src/cli/main.ts"
  command $LATTICE "$@"
}

# Waits until cluster-status passes (quorum, every node ready, lag below the bound).
wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) out
  while true; do
    if out=$(lattice admin cluster-status --endpoints "$ENDPOINTS" --max-lag-seconds "$MAX_LAG_SECONDS" 2>&1); then
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      printf '%s\n' "$out"
      return 1
    fi
    sleep 1
  done
}

for node in "$@"; do
  log "node $node: checking cluster health"
  wait_healthy || abort "the cluster is not healthy (quorum, readiness or lag >= ${MAX_LAG_SECONDS}s) before restarting $node"

  log "node $node: draining"
  if ! lattice admin drain --node-id "$node" --endpoints "$ENDPOINTS" --timeout "${DRAIN_TIMEOUT}s"; then
    lattice admin drain --cancel --node-id "$node" --endpoints "$ENDPOINTS" || true
    abort "drain of $node failed (cancelled: it serves again)"
  fi

  log "node $node: stopping"
  run_for "$STOP_CMD" "$node" || abort "stopping $node failed"
  if [ -n "$UPGRADE_CMD" ]; then
    log "node $node: upgrading"
    run_for "$UPGRADE_CMD" "$node" || abort "upgrading $node failed; it is stopped: start it by hand"
  fi
  log "node $node: starting"
  run_for "$START_CMD" "$node" || abort "starting $node failed"

  log "node $node: waiting until it is ready and a voter again"
  lattice admin wait-ready --node-id "$node" --endpoints "$ENDPOINTS" --voter --timeout "${READY_TIMEOUT}s" ||
    abort "$node did not become ready within ${READY_TIMEOUT}s"
  wait_healthy || abort "the cluster did not become healthy again after restarting $node"
  log "node $node restarted successfully"
done

log "rolling restart complete"
lattice admin cluster-status --endpoints "$ENDPOINTS"
