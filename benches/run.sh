#!/usr/bin/env bash
# Benchmarks keelson against etcd on this machine: one node each, then three keelson
# replicas behind HAProxy (cluster/local-up.sh) against a three-member etcd.
#
#   benches/run.sh           full run; appends its tables to docs/benchmarks.md
#   benches/run.sh --quick   short smoke run of both (under 3 minutes once built); prints only
#   benches/run.sh --topology single|three   only one of the two parts
#
# Builds keelson and keelson-bench in release mode, installs what is missing from
# Debian (etcd-server for the peer, protobuf-compiler for the etcd gRPC client's build,
# haproxy and curl for cluster/local-up.sh, which also needs kubectl on PATH), then runs
# keelson-bench, which starts the servers on loopback, measures, and stops exactly the
# processes it started. Any other etcd or HAProxy (e.g. the packages' own services,
# where systemd runs them) is neither used nor touched.
# Extra arguments go to keelson-bench (see `target/release/keelson-bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    echo "run.sh: installing ${missing[*]} from Debian" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

single_only=
case " $* " in *" --topology single "* | *" --topology=single "*) single_only=1 ;; esac
if ! command -v kubectl >/dev/null 2>&1 && [[ -z $single_only ]]; then
    echo "run.sh: kubectl is not on PATH; cluster/local-up.sh needs it for the three-replica part" >&2
    echo "run.sh: install it (Kubernetes package repository), or run with --topology single" >&2
    exit 2
fi

# Two builds, not one: built together, cargo would unify keelson's dependency features
# with keelson-bench's (reqwest's http2) and rebuild keelson differently from every
# other build of it.
cargo build --release -p keelson
cargo build --release -p keelson-bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/keelson-bench" \
    --keelson "$target/release/keelson" \
    --etcd "$(command -v etcd)" \
    --work-dir "$target" \
    --out docs/benchmarks.md \
    --repo . \
    --command "benches/run.sh${*:+ $*}" \
    "$@"
