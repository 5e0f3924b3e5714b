#!/usr/bin/env bash
# Fault injection against three keelson replicas behind HAProxy, with a history checker.
#
# Usage:
#   chaos/run.sh --quick              every scenario once, briefly, then the planted-bug
#                                     runs that prove the checker catches real breaks
#   chaos/run.sh --soak MINUTES       random scenarios with longer faults for MINUTES
#   chaos/run.sh -- ARGS...           keelson-chaos with your own arguments
#                                     (see: target/release/keelson-chaos --help)
#
# Needs root (network namespaces, tmpfs mounts). Installs haproxy, curl, nftables and
# iproute2 with apt-get when they are missing. Everything it starts runs on addresses
# it creates (10.213.x.y inside its own namespaces, HAProxy on 127.0.0.1) and is stopped
# by PID; clusters, logs and recorded histories stay under target/chaos/.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case $mode in
  --quick) ;;
  --soak)
    [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "usage: $0 --soak MINUTES" >&2; exit 2; }
    minutes=$2 ;;
  --) shift ;;
  *) echo "usage: $0 --quick | --soak MINUTES | -- KEELSON_CHAOS_ARGS..." >&2; exit 2 ;;
esac

if [[ $(id -u) != 0 ]]; then
  echo "chaos/run.sh: needs root for network namespaces and tmpfs mounts; run it with sudo" >&2
  exit 2
fi

need_apt=()
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || need_apt+=(haproxy)
command -v curl >/dev/null || need_apt+=(curl)
command -v nft >/dev/null || [[ -x /usr/sbin/nft ]] || need_apt+=(nftables)
command -v ip >/dev/null || [[ -x /usr/sbin/ip ]] || need_apt+=(iproute2)
command -v kubectl >/dev/null || { echo "chaos/run.sh: kubectl is required on PATH (cluster/local-up.sh uses it)" >&2; exit 2; }
if ((${#need_apt[@]})); then
  echo "chaos/run.sh: installing ${need_apt[*]} with apt-get" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin

# The planted-bug binary first (same target dir: only keelson itself is rebuilt), then
# the real one, so target/release/keelson is always the build without the breaks.
planted=target/chaos/keelson-planted
if [[ $mode == --quick ]]; then
  echo "chaos/run.sh: building keelson with the test-only feature planted-bugs" >&2
  cargo build --release -q -p keelson -p keelson-chaos --features keelson/planted-bugs
  mkdir -p target/chaos
  cp target/release/keelson "$planted"
fi
echo "chaos/run.sh: building keelson and keelson-chaos (release)" >&2
cargo build --release -q -p keelson -p keelson-chaos
if grep -q KEELSON_PLANTED_BUG target/release/keelson; then
  echo "chaos/run.sh: target/release/keelson contains the planted bugs; refusing to test it" >&2
  exit 1
fi
chaos=target/release/keelson-chaos

case $mode in
  --quick)
    echo "chaos/run.sh: every scenario, each fault held 4 s" >&2
    "$chaos" --hold 4s
    # Each planted break must be reported by the checker (keelson-chaos exits 0 only
    # when the expected kind of violation was found).
    echo "chaos/run.sh: planted bug ack-before-quorum (leader acknowledges before followers have the entries)" >&2
    KEELSON_PLANTED_BUG=ack-before-quorum "$chaos" --keelson "$planted" \
      --scenarios kill-leader --warmup 6s --hold 2s --expect-violation lost
    echo "chaos/run.sh: planted bug skip-read-index (replicas serve linearizable reads from their own cache)" >&2
    KEELSON_PLANTED_BUG=skip-read-index "$chaos" --keelson "$planted" \
      --scenarios partition-follower --hold 4s --expect-violation linearizability
    echo "chaos/run.sh: all scenarios passed and both planted bugs were caught" >&2
    ;;
  --soak)
    "$chaos" --soak-minutes "$minutes" --seed "$RANDOM"
    ;;
  *)
    "$chaos" "$@"
    ;;
esac
