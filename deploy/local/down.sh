#!/usr/bin/env bash
# Stops what deploy/local/up.sh started, by the pids it recorded: the data plane first (it
# flushes its usage spool), then the control plane (which stops its embedded PostgreSQL).
set -euo pipefail
. "$(dirname "$0")/common.sh"

stop() {
  local name=$1 file=$2 jar=$3 log=$4 pid waited=0
  if ! pid=$(running_pid "$file" "$jar"); then
    say "the $name is not running${file:+ (no live process behind $file)}"
    rm -f "$file"
    return 0
  fi
  say "stopping the $name (pid $pid)"
  kill -TERM "$pid"
  while kill -0 "$pid" 2> /dev/null; do
    if [ "$waited" -ge 30 ]; then
      say "the $name did not stop within 30s; killing pid $pid"
      kill -KILL "$pid" 2> /dev/null || true
      break
    fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$file"
  say "the $name stopped; its log stays at $log"
}

stop "data plane" "$dp_pid" "$dp_jar" "$dp_log"
stop "control plane" "$cp_pid" "$cp_jar" "$cp_log"
say "data dirs kept: $cp_dir, $dp_dir (delete them for a fresh start)"
