#!/usr/bin/env bash
# Local quickstart: one control plane on its embedded PostgreSQL and one data plane, on this
# machine, with nothing but a JDK >= 21 installed. Builds the jars if they are missing, waits for
# each process to be healthy, and says what it did and where the logs are. Stop with down.sh.
#
# Settings (all optional): AGENTROUTER_LOCAL_CP_PORT (8080), AGENTROUTER_LOCAL_DP_PORT (8090),
# AGENTROUTER_LOCAL_CP_DIR (.agentrouter), AGENTROUTER_LOCAL_DP_DIR (.agentrouter-dp),
# AGENTROUTER_LOCAL_DP_MODE: auto (default), managed or standalone, see start_data_plane below.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$repo"

JAVA_HOME=$(pick_jdk) || fail "no JDK >= 21 found (set JAVA_HOME to one)"
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
say "using the JDK at $JAVA_HOME (Java $(java_major "$JAVA_HOME"))"

if pid=$(running_pid "$cp_pid" "$cp_jar") || pid=$(running_pid "$dp_pid" "$dp_jar"); then
  fail "already running (pid $pid); run deploy/local/down.sh first"
fi

if [ ! -f "$cp_jar" ] || [ ! -f "$dp_jar" ]; then
  say "building the jars: ./mvnw -B -q -DskipTests package (log: $repo/target/local-build.log)"
  mkdir -p "$repo/target"
  ./mvnw -B -q -DskipTests package > "$repo/target/local-build.log" 2>&1 \
    || { tail -n 30 "$repo/target/local-build.log" >&2; fail "build failed, see $repo/target/local-build.log"; }
fi
for jar in "$cp_jar" "$dp_jar"; do
  [ -f "$jar" ] || fail "the build did not produce $jar"
done

# 2xx from /internal/health, with curl when there is one and bash's /dev/tcp when not.
healthy() {
  local url="http://127.0.0.1:$1/internal/health"
  if command -v curl > /dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$url" 2> /dev/null
  else
    exec 3<> "/dev/tcp/127.0.0.1/$1" 2> /dev/null || return 1
    printf 'GET /internal/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    head -n 1 <&3 | grep -q ' 2[0-9][0-9] '
    local rc=$?; exec 3>&-; return $rc
  fi
}

# Waits until the process answers healthy. Returns 1, after showing its log's tail, if it exits
# first; fails the script if it is still not healthy after the limit.
wait_healthy() {
  local name=$1 port=$2 pid=$3 log=$4 limit=$5 waited=0
  say "waiting for the $name (pid $pid) to be healthy on :$port (up to ${limit}s)"
  until kill -0 "$pid" 2> /dev/null && healthy "$port"; do
    if ! kill -0 "$pid" 2> /dev/null; then
      tail -n 20 "$log" | sed 's/^/    | /' >&2
      say "the $name (pid $pid) exited before it became healthy; its log: $log"
      return 1
    fi
    if [ "$waited" -ge "$limit" ]; then
      tail -n 20 "$log" | sed 's/^/    | /' >&2
      fail "the $name is not healthy after ${limit}s; it is still running (pid $pid), stop it with deploy/local/down.sh; its log: $log"
    fi
    sleep 1; waited=$((waited + 1))
  done
  say "the $name is healthy after ${waited}s"
}

# Something already listening there would answer our health checks in place of our process.
require_free_port() {
  if (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; then
    fail "port $1 is already in use by another process; pick another with $2"
  fi
}

start() {
  local jar=$1 log=$2 pidfile=$3
  nohup java -jar "$jar" > "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  echo $!
}

# --- control plane -------------------------------------------------------------------------
require_free_port "$cp_port" AGENTROUTER_LOCAL_CP_PORT
require_free_port "$dp_port" AGENTROUTER_LOCAL_DP_PORT
mkdir -p "$cp_dir"
say "starting the control plane: data dir $cp_dir, embedded PostgreSQL in it, port $cp_port"
cp_started=$(
  export AGENTROUTER_DATA_DIR="$cp_dir" AGENTROUTER_HTTP_PORT="$cp_port"
  unset AGENTROUTER_DB_URL AGENTROUTER_DB_USER AGENTROUTER_DB_PASSWORD
  start "$cp_jar" "$cp_log" "$cp_pid"
)
wait_healthy "control plane" "$cp_port" "$cp_started" "$cp_log" 180 || fail "no control plane, so no data plane either"

admin_key_file=$cp_dir/admin.key
if [ -s "$admin_key_file" ]; then
  admin_key=$(tr -d '[:space:]' < "$admin_key_file")
  say "operator key: in $admin_key_file (written on the first start of an empty database)"
else
  admin_key=
  say "no operator key at $admin_key_file: the control plane did not write one (see $cp_log)"
fi

# --- data plane ----------------------------------------------------------------------------
# managed: register a data plane on the control plane (POST /v1/dataplanes with the operator
#          key) and start it with the one-time token it returns.
# standalone: start it on data-plane/examples/standalone.yaml, without a control plane.
# auto: managed when the control plane offers registration, else standalone.
mode=${AGENTROUTER_LOCAL_DP_MODE:-auto}
standalone_config=$repo/data-plane/examples/standalone.yaml
token=

register_data_plane() {
  [ -n "$admin_key" ] && command -v curl > /dev/null || return 1
  local body status
  body=$(mktemp)
  status=$(curl -sS -o "$body" -w '%{http_code}' --max-time 10 -X POST \
    "http://127.0.0.1:$cp_port/v1/dataplanes" \
    -H "Authorization: Bearer $admin_key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"local\",\"region\":\"local\",\"public_url\":\"http://127.0.0.1:$dp_port\"}" || true)
  token=$(sed -n 's/.*"registration_token" *: *"\([^"]*\)".*/\1/p' "$body" | head -n 1)
  rm -f "$body"
  if [ "${status:0:1}" = 2 ] && [ -n "$token" ]; then
    say "registered data plane 'local' (region local) on the control plane"
    return 0
  fi
  case "$status" in
    409) say "the control plane already has a data plane named 'local' (from an earlier run): POST /v1/dataplanes answered 409" ;;
    *) say "the control plane did not register a data plane (POST /v1/dataplanes answered ${status:-nothing})" ;;
  esac
  return 1
}

# The first string value of a JSON field, without jq (not every machine has it).
json_field() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" | head -n 1; }

# POST a JSON body with the operator key; prints the body, fails on a non-2xx status.
post_json() {
  local body status
  body=$(mktemp)
  status=$(curl -sS -o "$body" -w '%{http_code}' --max-time 10 -X POST \
    "http://127.0.0.1:$cp_port$1" -H "Authorization: Bearer $admin_key" \
    -H 'Content-Type: application/json' -d "$2" || true)
  cat "$body"; rm -f "$body"
  [ "${status:0:1}" = 2 ] || { say "POST $1 answered ${status:-nothing}" >&2; return 1; }
}

# Managed mode: a demo customer, a project in the data plane's region and an API key for it,
# made once through the control plane's REST API; the key is kept in $cp_dir/demo.key (0600).
create_managed_demo_key() {
  demo_key_file=$cp_dir/demo.key
  [ -s "$demo_key_file" ] && { say "demo key: reusing $demo_key_file"; return 0; }
  local customer project secret
  customer=$(post_json /v1/customers '{"name":"demo"}' | json_field customer_id) && [ -n "$customer" ] \
    && project=$(post_json "/v1/customers/$customer/projects" '{"name":"demo","region":"local"}' | json_field project_id) && [ -n "$project" ] \
    && secret=$(post_json "/v1/customers/$customer/projects/$project/keys" '{"name":"quickstart"}' | json_field secret) && [ -n "$secret" ] \
    || { demo_key_file=; say "could not create a demo key through the REST API; create one with the CLI or REST (docs/operations.md)"; return 0; }
  (umask 077; printf '%s\n' "$secret" > "$demo_key_file")
  say "demo key: created for customer $customer, project $project (region local), in $demo_key_file"
}

# Standalone mode: the example config reads its API key from DEMO_KEY; make one with the data
# plane's own gen-key command unless the caller set it, and keep it in $dp_dir/demo.key (0600).
create_standalone_demo_key() {
  demo_key_file=$dp_dir/demo.key
  if [ -n "${DEMO_KEY:-}" ]; then demo_key_file=; say "demo key: DEMO_KEY from your environment"; return 0; fi
  if [ ! -s "$demo_key_file" ]; then
    local token
    token=$(java -jar "$dp_jar" gen-key 2> /dev/null | sed -n 's/^token: *//p' | head -n 1 || true)
    [ -n "$token" ] || { demo_key_file=; say "could not generate a demo key (java -jar $dp_jar gen-key); set DEMO_KEY yourself"; return 0; }
    (umask 077; printf '%s\n' "$token" > "$demo_key_file")
    say "demo key: generated with gen-key into $demo_key_file"
  else
    say "demo key: reusing $demo_key_file"
  fi
  DEMO_KEY=$(tr -d '[:space:]' < "$demo_key_file")
  export DEMO_KEY
}

# A data plane that ran managed before keeps its credential in its data dir: no new token.
if [ "$mode" = auto ] && [ "$(cat "$dp_dir/local-mode" 2> /dev/null)" = managed ]; then
  say "the data plane ran in managed mode before; it reuses the credential in $dp_dir"
  mode=managed-again
fi

case "$mode" in
  managed-again) mode=managed ;;
  managed) register_data_plane || fail "managed mode asked for, but registration failed" ;;
  standalone) ;;
  auto) if register_data_plane; then mode=managed; else mode=standalone; fi ;;
  *) fail "AGENTROUTER_LOCAL_DP_MODE=$mode (expected: auto, managed or standalone)" ;;
esac
if [ "$mode" = standalone ] && [ ! -f "$standalone_config" ]; then
  fail "no data plane started: standalone mode needs $standalone_config, which this checkout does not have, and managed mode is not available. The control plane keeps running (pid $cp_started, log $cp_log); stop it with deploy/local/down.sh"
fi

mkdir -p "$dp_dir"
demo_key_file=
if [ "$mode" = managed ]; then create_managed_demo_key; else create_standalone_demo_key; fi
start_data_plane() {
  if [ "$mode" = managed ]; then
    say "starting the data plane in MANAGED mode: config from the control plane at :$cp_port, data dir $dp_dir, port $dp_port"
  else
    say "starting the data plane in STANDALONE mode: config file $standalone_config (no control plane involved), data dir $dp_dir, port $dp_port"
  fi
  dp_started=$(
    export AGENTROUTER_DATA_DIR="$dp_dir" AGENTROUTER_HTTP_PORT="$dp_port"
    if [ "$mode" = managed ]; then
      export AGENTROUTER_CONTROL_PLANE_URL="http://127.0.0.1:$cp_port" AGENTROUTER_DATAPLANE_TOKEN="$token"
      unset AGENTROUTER_CONFIG_FILE
    else
      export AGENTROUTER_CONFIG_FILE="$standalone_config"
      unset AGENTROUTER_CONTROL_PLANE_URL AGENTROUTER_DATAPLANE_TOKEN
      # The example names OpenAI's key by variable and refuses to load without it. A
      # placeholder lets it load; the summary says that OpenAI calls will then be refused.
      if [ -z "${OPENAI_API_KEY:-}" ]; then export OPENAI_API_KEY=placeholder-set-OPENAI_API_KEY; fi
    fi
    start "$dp_jar" "$dp_log" "$dp_pid"
  )
  wait_healthy "data plane" "$dp_port" "$dp_started" "$dp_log" 90
}

if start_data_plane; then
  echo "$mode" > "$dp_dir/local-mode"
else
  # A data plane built before managed mode landed refuses to start without a config file.
  if [ "$mode" = managed ] && [ "${AGENTROUTER_LOCAL_DP_MODE:-auto}" = auto ] && [ -f "$standalone_config" ]; then
    say "this data plane did not run in managed mode; falling back to STANDALONE mode"
    mode=standalone
    create_standalone_demo_key
    start_data_plane || fail "the data plane did not start in standalone mode either; the control plane keeps running (pid $cp_started), stop it with deploy/local/down.sh"
    echo standalone > "$dp_dir/local-mode"
  else
    fail "no data plane is running; the control plane keeps running (pid $cp_started), stop it with deploy/local/down.sh"
  fi
fi

key_line=${admin_key:+$admin_key_file}
key_line=${key_line:-none found, see $cp_log}
demo_line=${demo_key_file:-none (see above)}
openai_line=
if [ "$mode" = standalone ] && [ "${OPENAI_API_KEY:-}" = "" ]; then
  openai_line="
  note           OPENAI_API_KEY was not set: the example config runs with a placeholder, so calls
                 to its OpenAI models fail upstream; its ollama model needs Ollama on :11434.
                 Set OPENAI_API_KEY and run down.sh and up.sh again to use OpenAI."
fi
demo_try=
if [ -n "$demo_key_file" ]; then
  demo_try="  curl -s http://127.0.0.1:$dp_port/v1/models -H \"Authorization: Bearer \$(cat $demo_key_file)\""
fi
cat << SUMMARY

AgentRouter is running locally.
  control plane  http://127.0.0.1:$cp_port   pid $cp_started   log $cp_log
                 embedded PostgreSQL and data in $cp_dir
  data plane     http://127.0.0.1:$dp_port   pid $dp_started   log $dp_log
                 mode: $mode$([ "$mode" = standalone ] && echo " (keys, providers and routes from $standalone_config)")
  operator key   $key_line
  demo API key   $demo_line$openai_line

Try:
  export AGENTROUTER_BASE_URL=http://127.0.0.1:$cp_port
  export AGENTROUTER_API_KEY=\$(cat $admin_key_file)
  curl -s -H "Authorization: Bearer \$AGENTROUTER_API_KEY" \$AGENTROUTER_BASE_URL/v1/me
  curl -s http://127.0.0.1:$dp_port/internal/health
$demo_try
Stop:
  deploy/local/down.sh
SUMMARY
