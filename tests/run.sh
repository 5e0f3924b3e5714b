#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need (idempotently),
# builds once in release mode, then runs unit, storage-contract and integration tests,
# a benchmark smoke run (benches/run.sh --quick, which installs etcd-server and
# protobuf-compiler when missing), and finally the chaos scenarios (chaos/run.sh
# --quick, which needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v kubectl >/dev/null || { echo "tests/run.sh: kubectl (v1.30 or newer) is required on PATH; install it from your distribution or the Kubernetes package repository" >&2; exit 2; }
command -v curl >/dev/null || need_apt+=(curl)
# The high-availability tests run three replicas behind HAProxy (cluster/local-up.sh).
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || need_apt+=(haproxy)
if ((${#need_apt[@]})); then
  echo "tests/run.sh: installing ${need_apt[*]} with apt-get" >&2
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The Python client test (tests/python_client.rs) runs the pinned `kubernetes` client
# from a virtualenv under target/, made once and reused.
python_client=kubernetes==31.0.0
venv="${CARGO_TARGET_DIR:-target}/python-client"
if ! "$venv/bin/python" -c "import kubernetes; assert kubernetes.__version__ == '${python_client#*==}'" 2>/dev/null; then
  command -v python3 >/dev/null || need_py=1
  if [[ -n ${need_py:-} ]] || ! python3 -m venv --help >/dev/null 2>&1; then
    echo "tests/run.sh: installing python3 and python3-venv with apt-get" >&2
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  echo "tests/run.sh: installing the Python client ($python_client) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$python_client"
fi
export KEELSON_PYTHON="$PWD/$venv/bin/python"
[[ $venv == /* ]] && export KEELSON_PYTHON="$venv/bin/python"

echo "tests/run.sh: building and testing (release profile, shared with the binary)" >&2
cargo test --release -p keelson-proto -p keelson -p keelson-chaos -- --test-threads="${KEELSON_TEST_THREADS:-2}"

echo "tests/run.sh: benchmark smoke run (benches/run.sh --quick: keelson vs etcd, one node then three; prints only, fails only if the harness cannot run)" >&2
benches/run.sh --quick

echo "tests/run.sh: chaos scenarios and planted-bug checks (chaos/run.sh --quick)" >&2
if [[ $(id -u) == 0 ]]; then
  chaos/run.sh --quick
else
  sudo chaos/run.sh --quick
fi
