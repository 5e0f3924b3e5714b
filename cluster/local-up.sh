#!/usr/bin/env bash
# Start a three-replica keelson cluster plus HAProxy on loopback.
#
# Usage: cluster/local-up.sh DIR [BASE_PORT]
#   DIR        holds everything: data dirs n1..n3, logs n1.log.., pid files
#              n1.pid.. and haproxy.pid, n1.args.. (each replica's `keelson`
#              arguments, one per line, to restart it alone), haproxy.cfg, admin.kubeconfig.
#              An existing DIR from a stopped cluster is restarted with its state.
#   BASE_PORT  HAProxy listens on 127.0.0.1:BASE_PORT (default 6443); replica i
#              (1..3) serves the API on BASE_PORT+i and Raft on BASE_PORT+3+i.
# Environment:
#   KEELSON             keelson binary (default <repo>/target/release/keelson)
#   HAPROXY             haproxy binary (default: haproxy on PATH, else /usr/sbin/haproxy)
#   KEELSON_SERVE_ARGS  extra flags for every `keelson serve` (word-split)
#   KEELSON_HOSTS       three IP addresses, replica i listens on the i-th (default
#                       127.0.0.1 for all three); HAProxy still binds 127.0.0.1
#   KEELSON_NETNS       three network namespace names: replica i runs inside the i-th
#                       (`ip netns exec`), which must already exist and reach
#                       KEELSON_HOSTS; the chaos harness uses this to cut links
# Stop the cluster with: cluster/local-down.sh DIR
set -euo pipefail

usage() { echo "usage: $0 DIR [BASE_PORT]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
BASE=${2:-6443}
if ! [[ $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE + 6 > 65535)); then
  echo "BASE_PORT must be a number from 1024 to 65529" >&2
  exit 2
fi

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
KEELSON=${KEELSON:-$REPO/target/release/keelson}
if [[ ! -x $KEELSON ]]; then
  echo "keelson binary not found at $KEELSON" >&2
  echo "build it with: (cd $REPO && cargo build --release), or set KEELSON=/path/to/keelson" >&2
  exit 2
fi
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
if ! command -v "$HAPROXY" >/dev/null; then
  echo "haproxy not found; install it with: apt-get install haproxy (or set HAPROXY=/path/to/haproxy)" >&2
  exit 2
fi
HOSTS=(127.0.0.1 127.0.0.1 127.0.0.1)
if [[ -n ${KEELSON_HOSTS:-} ]]; then read -r -a HOSTS <<<"$KEELSON_HOSTS"; fi
NETNS=()
if [[ -n ${KEELSON_NETNS:-} ]]; then read -r -a NETNS <<<"$KEELSON_NETNS"; fi
if ((${#HOSTS[@]} != 3)) || { ((${#NETNS[@]})) && ((${#NETNS[@]} != 3)); }; then
  echo "KEELSON_HOSTS and KEELSON_NETNS each name exactly three (space-separated)" >&2
  exit 2
fi
for tool in curl kubectl; do
  command -v "$tool" >/dev/null || { echo "$tool not found on PATH; install it first" >&2; exit 2; }
done

mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
KUBECONFIG_FILE=$DIR/admin.kubeconfig

# alive PIDFILE MARKER: the pid in PIDFILE is a running process whose command
# line contains MARKER (so a stale pid reused by another program never counts).
alive() {
  local pid args
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    args=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
  fi
  [[ $args == *"$2"* ]]
}

for i in 1 2 3; do
  if alive "$DIR/n$i.pid" "$DIR/n$i"; then
    echo "replica n$i of $DIR is already running (pid $(<"$DIR/n$i.pid"))." >&2
    echo "stop it first with: $REPO/cluster/local-down.sh $DIR" >&2
    exit 1
  fi
done
if alive "$DIR/haproxy.pid" "$DIR/haproxy.cfg"; then
  echo "haproxy for $DIR is already running (pid $(<"$DIR/haproxy.pid"))." >&2
  echo "stop it first with: $REPO/cluster/local-down.sh $DIR" >&2
  exit 1
fi
rm -f "$DIR"/n[123].pid "$DIR/haproxy.pid"

# One CA for the whole cluster, created once and copied to the other replicas
# before their first start (a replica with its own CA could not join).
for i in 1 2 3; do mkdir -p "$DIR/n$i" && chmod 0700 "$DIR/n$i"; done
if [[ ! -f $DIR/n1/pki/ca.crt ]]; then
  echo "creating the cluster CA in $DIR/n1/pki"
  "$KEELSON" pki init --data-dir "$DIR/n1"
fi
for i in 2 3; do
  if [[ ! -f $DIR/n$i/pki/ca.crt ]]; then
    mkdir -p "$DIR/n$i/pki" && chmod 0700 "$DIR/n$i/pki"
    install -m 0600 "$DIR/n1/pki/ca.crt" "$DIR/n1/pki/ca.key" "$DIR/n$i/pki/"
  fi
done

api_port() { echo $((BASE + $1)); }
peer_port() { echo $((BASE + 3 + $1)); }
host() { echo "${HOSTS[$1 - 1]}"; }
INITIAL=1=https://$(host 1):$(peer_port 1),2=https://$(host 2):$(peer_port 2),3=https://$(host 3):$(peer_port 3)
EXTRA=()
if [[ -n ${KEELSON_SERVE_ARGS:-} ]]; then read -r -a EXTRA <<<"$KEELSON_SERVE_ARGS"; fi

for i in 1 2 3; do
  echo "=== local-up $(date '+%F %T') ===" >>"$DIR/n$i.log"
  args=(serve --data-dir "$DIR/n$i"
    --listen "$(host "$i"):$(api_port "$i")" --peer-listen "$(host "$i"):$(peer_port "$i")"
    --node-id "$i" --initial-cluster "$INITIAL" "${EXTRA[@]}")
  # The exact arguments, one per line, so a test (or a human) can restart this replica alone.
  printf '%s\n' "${args[@]}" >"$DIR/n$i.args"
  wrap=()
  # `ip netns exec` execs keelson in place, so $! is keelson's own pid.
  if ((${#NETNS[@]})); then wrap=(ip netns exec "${NETNS[$i - 1]}"); fi
  nohup "${wrap[@]}" "$KEELSON" "${args[@]}" </dev/null >>"$DIR/n$i.log" 2>&1 &
  echo $! >"$DIR/n$i.pid"
  echo "started n$i (pid $!): API $(host "$i"):$(api_port "$i"), peer $(host "$i"):$(peer_port "$i"), log $DIR/n$i.log"
done

sed -e "s|@BIND@|127.0.0.1:$BASE|" \
    -e "s|@SERVER1@|$(host 1):$(api_port 1)|" \
    -e "s|@SERVER2@|$(host 2):$(api_port 2)|" \
    -e "s|@SERVER3@|$(host 3):$(api_port 3)|" \
    -e "s|@CA_FILE@|$DIR/n1/pki/ca.crt|" \
    "$REPO/cluster/haproxy.cfg" >"$DIR/haproxy.cfg"
# -D daemonizes and writes the daemon's own pid (the one to kill) to haproxy.pid.
if ! "$HAPROXY" -f "$DIR/haproxy.cfg" -D -p "$DIR/haproxy.pid"; then
  echo "haproxy failed to start (is 127.0.0.1:$BASE in use? try another BASE_PORT)." >&2
  echo "the replicas are still running; stop them with: $REPO/cluster/local-down.sh $DIR" >&2
  exit 1
fi
echo "started haproxy (pid $(<"$DIR/haproxy.pid")) on 127.0.0.1:$BASE"

trap 'echo; echo "interrupted; the cluster may be running: stop it with $REPO/cluster/local-down.sh $DIR" >&2; exit 130' INT

# Wait until every replica and HAProxy report ready: at most 60 s, polling
# every 0.2 s (so at most 300 rounds), with a progress line every ~5 s.
ready() {
  [[ $(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' "https://$(host "$1"):$(api_port "$1")/readyz") == 200 ]]
}
have_kubeconfig=
deadline=$((SECONDS + 60))
next_report=$((SECONDS + 5))
for ((round = 0; round < 300; round++)); do
  for i in 1 2 3; do
    if ! alive "$DIR/n$i.pid" "$DIR/n$i"; then
      echo "replica n$i exited; last lines of $DIR/n$i.log:" >&2
      tail -n 30 "$DIR/n$i.log" >&2
      echo "clean up with: $REPO/cluster/local-down.sh $DIR" >&2
      exit 1
    fi
  done
  if ! alive "$DIR/haproxy.pid" "$DIR/haproxy.cfg"; then
    echo "haproxy exited; clean up with: $REPO/cluster/local-down.sh $DIR" >&2
    exit 1
  fi
  # n1 answering /livez means its pki is complete; sign the admin kubeconfig then.
  if [[ -z $have_kubeconfig ]] \
     && curl -sfk --max-time 2 -o /dev/null "https://$(host 1):$(api_port 1)/livez"; then
    if ! "$KEELSON" pki kubeconfig --data-dir "$DIR/n1" --server "https://127.0.0.1:$BASE" \
         --out "$KUBECONFIG_FILE"; then
      echo "could not write $KUBECONFIG_FILE; stop the cluster with: $REPO/cluster/local-down.sh $DIR" >&2
      exit 1
    fi
    have_kubeconfig=1
  fi
  waiting=()
  for i in 1 2 3; do ready "$i" || waiting+=("n$i"); done
  if [[ -z $have_kubeconfig ]] \
     || [[ $(kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=2s get --raw /readyz 2>/dev/null) != ok ]]; then
    waiting+=(haproxy)
  fi
  ((${#waiting[@]} == 0)) && break
  if ((SECONDS >= deadline)); then
    echo "not ready after 60 s (waiting for: ${waiting[*]}); see the logs $DIR/n*.log" >&2
    echo "stop the cluster with: $REPO/cluster/local-down.sh $DIR" >&2
    exit 1
  fi
  if ((SECONDS >= next_report)); then
    echo "waiting for readiness of: ${waiting[*]} ($((60 - (deadline - SECONDS))) s)"
    next_report=$((SECONDS + 5))
  fi
  sleep 0.2
done
if ((${#waiting[@]} != 0)); then
  echo "not ready after 300 polls (waiting for: ${waiting[*]}); see the logs $DIR/n*.log" >&2
  exit 1
fi
trap - INT

echo
echo "keelson cluster in $DIR is ready."
echo "  API (HAProxy):  https://127.0.0.1:$BASE"
for i in 1 2 3; do
  echo "  replica n$i:     API $(host "$i"):$(api_port "$i"), peer $(host "$i"):$(peer_port "$i")"
done
echo "  kubeconfig:     $KUBECONFIG_FILE"
echo "  try:            KUBECONFIG=$KUBECONFIG_FILE kubectl get ns"
echo "  stop:           $REPO/cluster/local-down.sh $DIR"
