# Shared by up.sh and down.sh: where things live and how to find a JDK. Sourced, not run.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cp_dir=${AGENTROUTER_LOCAL_CP_DIR:-$repo/.agentrouter}
dp_dir=${AGENTROUTER_LOCAL_DP_DIR:-$repo/.agentrouter-dp}
cp_port=${AGENTROUTER_LOCAL_CP_PORT:-8080}
dp_port=${AGENTROUTER_LOCAL_DP_PORT:-8090}
cp_jar=$repo/control-plane/target/agentrouter-control-plane.jar
dp_jar=$repo/data-plane/target/agentrouter-data-plane.jar
cp_pid=$cp_dir/control-plane.pid
dp_pid=$dp_dir/data-plane.pid
cp_log=$cp_dir/control-plane.log
dp_log=$dp_dir/data-plane.log

say() { printf 'agentrouter: %s\n' "$*"; }
fail() { printf 'agentrouter: %s\n' "$*" >&2; exit 1; }

# Same choice as .ci/run: JAVA_HOME if it is a JDK >= 21, else the first such JDK in /usr/lib/jvm.
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }

pick_jdk() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for d in /usr/lib/jvm/*; do candidates+=("$d"); done
  for d in "${candidates[@]}"; do
    if [ -x "$d/bin/javac" ]; then
      local v; v=$(java_major "$d")
      if [ -n "$v" ] && [ "${v%%.*}" -ge 21 ]; then echo "$d"; return 0; fi
    fi
  done
  return 1
}

# The pid in a pid file, if that process is still the one we started (pids are reused).
running_pid() {
  local file=$1 jar=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$(basename "$jar")" || return 1
  echo "$pid"
}
