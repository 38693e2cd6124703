#!/usr/bin/env bash
# Stop what up.sh started (the nodes, their epmd, the PostgreSQL pair). `--purge` also deletes
# their data. Safe to run when nothing runs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
purge=0
[ "${1:-}" = --purge ] && purge=1
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
