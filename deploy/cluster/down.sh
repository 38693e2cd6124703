#!/usr/bin/env bash
# Stop what up.sh started (the ingest workers, the nodes, their epmd, the PostgreSQL pair). `--purge` also deletes
# their data. Safe to run when nothing runs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
purge=0
[ "${1:-}" = --purge ] && purge=1
# The ingest workers of `up.sh --workers` first: SIGTERM, they commit and acknowledge what they hold.
for pidfile in "$CLUSTER_DIR"/workers/w*.pid; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    echo "stopped worker $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
done
for i in $(seq "$CLUSTER_NODES"); do
  if running "$i"; then echo "stopping $(node_name "$i")"; ctl "$i" stop >/dev/null 2>&1 || true; fi
done
(export ERL_EPMD_PORT=$CLUSTER_EPMD_PORT; epmd -kill >/dev/null 2>&1 || true)
for d in replica primary; do
  if [ -s "$CLUSTER_DIR/pg/$d/PG_VERSION" ]; then
    runas=(); [ "$(id -u)" = 0 ] && runas=(runuser -u postgres --)
    "${runas[@]}" "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/pg/$d" -m fast stop >/dev/null 2>&1 && echo "stopped PostgreSQL $d" || true
  fi
done
((purge)) && rm -rf "$CLUSTER_DIR" && echo "deleted $CLUSTER_DIR"
exit 0
