#!/usr/bin/env bash
# Benchmarks keelson against a single-node etcd on this machine.
#
#   benches/run.sh           full run; appends its table to docs/benchmarks.md
#   benches/run.sh --quick   short smoke run (under 3 minutes once built); prints only
#
# Builds keelson and keelson-bench in release mode, installs what is missing from
# Debian (etcd-server for the peer, protobuf-compiler for the etcd gRPC client's build),
# then runs keelson-bench, which starts both servers on loopback, measures, and stops
# exactly the processes it started. Any other etcd (e.g. the etcd-server package's own
# service, where systemd runs one) is neither used nor touched.
# Extra arguments go to keelson-bench (see `target/release/keelson-bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    echo "run.sh: installing ${missing[*]} from Debian" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release -p keelson -p keelson-bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/keelson-bench" \
    --keelson "$target/release/keelson" \
    --etcd "$(command -v etcd)" \
    --work-dir "$target" \
    --out docs/benchmarks.md \
    --repo . \
    --command "benches/run.sh${*:+ $*}" \
    "$@"
