# Shared by up.sh and down.sh (sourced): where the test cluster lives and which ports it uses.
# Everything binds to 127.0.0.1, clear of the machine's own broker (5672, 15672, 25672, 1883,
# epmd 4369): the nodes register with their own epmd on CLUSTER_EPMD_PORT.
CLUSTER_DIR=${QZ_CLUSTER_DIR:-/tmp/qingzhi-cluster}
CLUSTER_NODES=${QZ_CLUSTER_NODES:-3}
CLUSTER_EPMD_PORT=${QZ_CLUSTER_EPMD_PORT:-4371}
PG_PRIMARY_PORT=${QZ_CLUSTER_PG_PORT:-5491}
PG_REPLICA_PORT=$((PG_PRIMARY_PORT + 1))
RABBIT_SBIN=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | sort -V | tail -1)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

node_name() { echo "qz$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
mqtt_port() { echo $((1900 + $1)); }
dist_port() { echo $((25680 + $1)); }

# The environment one node (or rabbitmqctl talking to it) runs in. One HOME for all: one
# Erlang cookie, so the nodes and the CLI may talk to each other.
node_env() {
  local i=$1 d="$CLUSTER_DIR/rabbit/n$1"
  export HOME="$CLUSTER_DIR/rabbit" ERL_EPMD_PORT=$CLUSTER_EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME=$(node_name "$i") RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$(amqp_port "$i") RABBITMQ_DIST_PORT=$(dist_port "$i")
  export RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"
  export RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$CLUSTER_DIR/rabbit/enabled_plugins"
  export RABBITMQ_PID_FILE="$d/pid"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() { local i=$1; shift; (node_env "$i"; "$RABBIT_SBIN/rabbitmqctl" -q -n "$(node_name "$i")" "$@"); }
running() { ctl "$1" ping >/dev/null 2>&1; }
