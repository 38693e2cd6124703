#!/usr/bin/env bash
# Start, on this machine and loopback only, a 3-node RabbitMQ cluster (MQTT 127.0.0.1:1901-1903,
# AMQP 5681-5683, Erlang distribution 25681-25683, its own epmd on 4371) and, with --pg, a
# PostgreSQL primary (5491) with a streaming replica (5492). Safe to run twice: what runs is
# left alone, a node that died is started again (and rejoins its cluster). Prints the URLs.
# With --workers N it also migrates the database, declares the queues (`qingzhi amqp-setup`) and
# starts N AMQP ingest workers (worker i prefers queue i; logs and pids in $QZ_CLUSTER_DIR/workers)
# on QZ_DATABASE_URL, or the --pg primary; they need QZ_CALLER_KEY. down.sh stops them.
# For testing and benchmarks; real hosts use the docker-compose `cluster` profile.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
with_pg=0 workers=0
while (($#)); do
  case $1 in
    --pg) with_pg=1 ;;
    --workers) workers=${2:?--workers needs a number}; shift ;;
    *) echo "usage: $0 [--pg] [--workers N]" >&2; exit 2 ;;
  esac
  shift
done
[[ $workers =~ ^[0-9]+$ ]] && ((workers <= 32)) || { echo "--workers: a number from 0 to 32" >&2; exit 2; }
[ -n "$RABBIT_SBIN" ] || { echo "rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; }

mkdir -p "$CLUSTER_DIR/rabbit"
echo '[rabbitmq_mqtt,rabbitmq_consistent_hash_exchange].' > "$CLUSTER_DIR/rabbit/enabled_plugins"
cookie="$CLUSTER_DIR/rabbit/.erlang.cookie"
[ -s "$cookie" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$cookie"; chmod 400 "$cookie"; }

write_node_config() {
  local i=$1 d="$CLUSTER_DIR/rabbit/n$1"
  mkdir -p "$d/log" "$d/mnesia"
  : > "$d/rabbitmq-env.conf"   # not /etc/rabbitmq's: that one belongs to the machine's own broker
  cat > "$d/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$i")
mqtt.listeners.tcp.1 = 127.0.0.1:$(mqtt_port "$i")
mqtt.allow_anonymous = false
mqtt.vhost = /
mqtt.exchange = amq.topic
# The ingest takes up to a batch per consumer before it acknowledges (after COMMIT).
consumer_timeout = 600000
log.file.level = warning
log.console = false
CONF
}

start_node() {
  local i=$1
  write_node_config "$i"
  if running "$i"; then echo "node $(node_name "$i") already running"; return 1; fi
  echo "starting node $(node_name "$i")"
  (node_env "$i"; "$RABBIT_SBIN/rabbitmq-server" -detached)
}

# One question first (each CLI call starts an Erlang VM, about a second): are all nodes up and clustered?
members=$(ctl 1 eval 'rabbit_nodes:all_running().' 2>/dev/null || true)
started=()
for i in $(seq "$CLUSTER_NODES"); do
  if grep -q "$(node_name "$i")" <<<"$members"; then
    echo "node $(node_name "$i") already running"
  elif start_node "$i"; then
    started+=("$i")
  fi
done
for i in "${started[@]}"; do
  # A detached node takes a moment to register with epmd; await_startup needs it registered.
  for _ in $(seq 60); do running "$i" && break; sleep 1; done
  ctl "$i" await_startup --timeout 120 || { echo "node $(node_name "$i") did not start; see $CLUSTER_DIR/rabbit/n$i/log" >&2; exit 1; }
done
first=$(node_name 1)
for i in $(seq 2 "$CLUSTER_NODES"); do
  grep -q "$(node_name "$i")" <<<"$members" && continue
  if ! ctl "$i" cluster_status --formatter json | grep -q "\"$first\""; then
    echo "joining $(node_name "$i") to $first"
    ctl "$i" stop_app
    ctl "$i" join_cluster "$first" 2>/dev/null   # its CLI logs harmless table-creation noise
    ctl "$i" start_app
  fi
done

urls_mqtt=() urls_amqp=()
for i in $(seq "$CLUSTER_NODES"); do
  urls_mqtt+=("mqtt://guest:guest@127.0.0.1:$(mqtt_port "$i")")
  urls_amqp+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$i")/")
done

if ((with_pg)); then
  PGDIR="$CLUSTER_DIR/pg"
  mkdir -p "$PGDIR"
  # initdb and postgres refuse to run as root: the data belongs to the postgres user.
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
  pg_up() { as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }
  if [ ! -s "$PGDIR/primary/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" --no-sync -D "$PGDIR/primary" -U postgres --auth=trust >/dev/null
    cat >> "$PGDIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY_PORT
unix_socket_directories = '$PGDIR'
wal_level = replica
max_wal_senders = 5
CONF
  fi
  pg_up "$PGDIR/primary" || as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/primary" -l "$PGDIR/primary.log" -w start >/dev/null
  if [ ! -s "$PGDIR/replica/PG_VERSION" ]; then
    as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -D "$PGDIR/replica" -R -X stream
    echo "port = $PG_REPLICA_PORT" >> "$PGDIR/replica/postgresql.conf"
  fi
  pg_up "$PGDIR/replica" || as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/replica" -l "$PGDIR/replica.log" -w start >/dev/null
fi

amqp_list=$(IFS=,; echo "${urls_amqp[*]}")
if ((workers)); then
  REPO=$(cd "$HERE/../.." && pwd)
  qz=("$REPO/.venv/bin/python" -m qingzhi)
  [ -x "${qz[0]}" ] || qz=(qingzhi)
  db=${QZ_DATABASE_URL:-}
  ((with_pg)) && [ -z "$db" ] && db="postgresql://postgres@127.0.0.1:$PG_PRIMARY_PORT/postgres"
  [ -n "$db" ] || { echo "--workers needs QZ_DATABASE_URL or --pg" >&2; exit 2; }
  [ -n "${QZ_CALLER_KEY:-}" ] || { echo "--workers needs QZ_CALLER_KEY (README \"Security\")" >&2; exit 2; }
  mkdir -p "$CLUSTER_DIR/workers"
  (cd "$REPO" && QZ_DATABASE_URL=$db "${qz[@]}" migrate && QZ_AMQP_URL=$amqp_list "${qz[@]}" amqp-setup)
  for i in $(seq 0 $((workers - 1))); do
    pidfile="$CLUSTER_DIR/workers/w$i.pid"
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "worker $i already running"; continue; fi
    # exec: the worker itself is the background process (its pid in the file), holding none of our output
    (cd "$REPO" && QZ_DATABASE_URL=$db QZ_SOURCE=amqp QZ_AMQP_URL=$amqp_list QZ_AMQP_PREFER=$((i % ${QZ_AMQP_QUEUES:-3})) \
       QZ_CLIENT_ID="qingzhi-cluster-w$i" exec "${qz[@]}" ingest < /dev/null >> "$CLUSTER_DIR/workers/w$i.log" 2>&1) &
    echo $! > "$pidfile"
    echo "started worker $i (log $CLUSTER_DIR/workers/w$i.log)"
  done
fi

echo
echo "RabbitMQ cluster: $(ctl 1 eval "length(rabbit_nodes:all_running()).") of $CLUSTER_NODES nodes running, data in $CLUSTER_DIR"
echo "devices (MQTT 3.1.1): ${urls_mqtt[*]}"
echo "then: qingzhi amqp-setup (the exchange and quorum queues, before devices publish), qingzhi ingest"
echo "export QZ_SOURCE=amqp"
echo "export QZ_AMQP_URL='$amqp_list'"
if ((with_pg)); then
  echo "export QZ_DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PRIMARY_PORT/postgres"
  echo "export QZ_DATABASE_READ_URL=postgresql://postgres@127.0.0.1:$PG_REPLICA_PORT/postgres"
fi
