#!/usr/bin/env bash
# Stop a cluster started by cluster/local-up.sh: the processes named by the pid
# files DIR/n*.pid and DIR/haproxy.pid, and nothing else. Each gets SIGTERM,
# then SIGKILL if it is still running after 10 s. The pid files are removed;
# the data dirs are kept, so local-up.sh DIR restarts with the same state.
#
# Usage: cluster/local-down.sh DIR
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
[[ -d $1 ]] || { echo "$1 is not a directory" >&2; exit 2; }
DIR=$(cd "$1" && pwd -P)

# alive PID MARKER: PID is a running process whose command line contains
# MARKER (a pid reused by an unrelated program, or a zombie, does not count).
alive() {
  local args
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r /proc/$1/cmdline ]]; then
    args=$(tr '\0' ' ' <"/proc/$1/cmdline")
  else
    args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
  fi
  [[ $args == *"$2"* ]]
}

# exiting PID: PID's main thread has exited but another of its threads has not yet.
# The process still holds its files (a replica's data dir locks among them) until its
# last thread is gone, so it is not stopped yet.
exiting() {
  local task
  for task in /proc/"$1"/task/*; do
    [[ ${task##*/} == "$1" ]] || return 0
  done
  return 1
}

shopt -s nullglob
names=() pids=() markers=()
for f in "$DIR"/n*.pid "$DIR/haproxy.pid"; do
  [[ -f $f ]] || continue
  name=$(basename "$f" .pid)
  pid=$(<"$f")
  # local-up.sh starts replicas with --data-dir DIR/nI and haproxy with -f DIR/haproxy.cfg.
  if [[ $name == haproxy ]]; then marker=$DIR/haproxy.cfg; else marker=$DIR/$name; fi
  if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" "$marker"; then
    kill -TERM "$pid" 2>/dev/null || true
    names+=("$name") pids+=("$pid") markers+=("$marker")
  else
    echo "$name: not running (stale pid file)"
  fi
  rm -f "$f"
done

# Wait for them to exit: at most 10 s, polling every 0.2 s.
for ((round = 0; round < 50; round++)); do
  running=0
  for k in "${!pids[@]}"; do
    if alive "${pids[$k]}" "${markers[$k]}" || exiting "${pids[$k]}"; then running=1; fi
  done
  ((running)) || break
  sleep 0.2
done

for k in "${!pids[@]}"; do
  if alive "${pids[$k]}" "${markers[$k]}"; then
    kill -KILL "${pids[$k]}" 2>/dev/null || true
    echo "${names[$k]}: killed (pid ${pids[$k]}; did not exit within 10 s of SIGTERM)"
  else
    echo "${names[$k]}: stopped (pid ${pids[$k]})"
  fi
done
((${#pids[@]} > 0)) || echo "nothing was running in $DIR"
echo "data kept in $DIR; restart with: $(dirname "$0")/local-up.sh $DIR"
