#!/usr/bin/env bash
# Benchmark: the data plane (full chain: auth, limits, routing, metering, access log) in front of a
# fast fake upstream, driven by wrk. The gateway is pinned to CPU 0; wrk and the upstream share
# CPU 1. Prints throughput and the latency the gateway adds over calling the upstream directly.
#
#   data-plane/bench/run.sh            # builds the jars if missing
#   DURATION=30 CONNECTIONS=128 data-plane/bench/run.sh
#   GW_JAVA_OPTS="-XX:StartFlightRecording=filename=/tmp/gw.jfr" data-plane/bench/run.sh   # profile
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-60}
CONNECTIONS=${CONNECTIONS:-64}
UP_PORT=${UP_PORT:-18081}
GW_PORT=${GW_PORT:-18090}
GW_CPU=${GW_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

if [ -z "${JAVA_HOME:-}" ]; then
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    if [ -x "$d/bin/java" ] && "$d/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
      JAVA_HOME=$d; break
    fi
  done
fi
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is missing: install it with 'sudo apt-get install wrk' and run again" >&2
    exit 1
  fi
fi
command -v taskset >/dev/null || { echo "taskset is missing (package util-linux)" >&2; exit 1; }

JAR=data-plane/target/agentrouter-data-plane.jar
TESTS=$(ls data-plane/target/agentrouter-data-plane-*-tests.jar 2>/dev/null | head -1 || true)
if [ ! -f "$JAR" ] || [ -z "$TESTS" ]; then
  ./mvnw -B -q -pl data-plane -am -DskipTests package
  TESTS=$(ls data-plane/target/agentrouter-data-plane-*-tests.jar | head -1)
fi
CP="$JAR:$TESTS"

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

KEY=$("$JAVA" -jar "$JAR" gen-key | sed -n 's/^token: *//p')
cat >"$WORK/dp.yaml" <<YAML
dataplane_id: bench
providers:
  - {name: up, type: openai, base_url: "http://127.0.0.1:$UP_PORT/v1", api_key_env: BENCH_UPSTREAM_KEY}
models:
  - {provider: up, model: bench-model, input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6}
routes:
  - alias: bench
    targets: [{provider: up, model: bench-model}]
projects: [{id: bench, customer: bench}]
keys:
  - token: "$KEY"
    project: bench
    limits: {requests_per_minute: 1000000000, tokens_per_minute: 1000000000000, concurrent_requests: 100000}
YAML

wait_port() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

taskset -c "$LOAD_CPU" "$JAVA" -Xms256m -Xmx256m -cp "$CP" io.agentrouter.dataplane.bench.BenchUpstream "$UP_PORT" >"$WORK/up.log" 2>&1 &
PIDS+=($!)
AGENTROUTER_CONFIG_FILE="$WORK/dp.yaml" AGENTROUTER_HTTP_PORT=$GW_PORT BENCH_UPSTREAM_KEY=sk-bench \
  taskset -c "$GW_CPU" "$JAVA" -Xms512m -Xmx512m ${GW_JAVA_OPTS:-} -jar "$JAR" >"$WORK/dp.log" 2>&1 &
PIDS+=($!)
wait_port "$UP_PORT"; wait_port "$GW_PORT"

cat >"$WORK/chat.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"Hello"}],"max_tokens":64}'
LUA

load() { taskset -c "$LOAD_CPU" wrk -t1 -c"$1" -d"$2"s --latency -s "$WORK/chat.lua" "http://127.0.0.1:$3/v1/chat/completions"; }
p() { awk -v q="$1" '$1==q {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s/,"",v); print v*1000000}}'; }
rps() { awk '/Requests\/sec/ {print $2}'; }
errors() { awk '/Non-2xx|Socket errors/ {print}'; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Per-thread CPU ticks of a process, as "name ticks" lines (name: the thread's comm, digits dropped).
thread_ticks() { for t in /proc/"$1"/task/*; do printf '%s %s\n' "$(tr -d '0-9' <"$t/comm" | tr ' ' '_')" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"; done; }
requests() { awk '/requests in/ {print $1}'; }
# CPU per request by thread between two thread_ticks snapshots: the JIT compiler or the collector
# showing up here means the gateway was not yet warm, or paused, during the window.
thread_cpu() {
  awk -v tick="$TICK_US" -v n="$3" '
    NR == FNR { before[$1] += $2; next }
    { after[$1] += $2 }
    END { for (k in after) { d = after[k] - before[k]; if (d > 0) printf "  %-28s %6.1f us/request\n", k, d * tick / n } }' \
    "$1" "$2" | sort -k2 -nr
}
UP_PID=${PIDS[0]}; GW_PID=${PIDS[1]}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# On one core the JIT needs a while: measure only a warm gateway.
echo "warming up for ${WARMUP}s (gateway and upstream JIT)…"
load 32 "$WARMUP" "$GW_PORT" >/dev/null
# Then each measured shape once: code paths first taken at one connection or at many are
# compiled (and deoptimized, and compiled again) here, not during the measurement.
load 1 10 "$GW_PORT" >/dev/null
load "$CONNECTIONS" 10 "$GW_PORT" >/dev/null
load 16 5 "$UP_PORT" >/dev/null
"$JAVA" -cp "$CP" io.agentrouter.dataplane.bench.TimeToFirstChunk 127.0.0.1 "$GW_PORT" "$KEY" 3000 10 >/dev/null

echo "1 connection, ${DURATION}s each…"
DIRECT1=$(load 1 "$DURATION" "$UP_PORT")
thread_ticks "$GW_PID" >"$WORK/threads0"
GW1=$(load 1 "$DURATION" "$GW_PORT")
thread_ticks "$GW_PID" >"$WORK/threads1"
GW1_THREADS=$(thread_cpu "$WORK/threads0" "$WORK/threads1" "$(echo "$GW1" | requests)")
echo "$CONNECTIONS connections, ${DURATION}s each…"
c0=$(cpu_ticks "$UP_PID")
DIRECTN=$(load "$CONNECTIONS" "$DURATION" "$UP_PORT")
UP_CPU_US=$(( ($(cpu_ticks "$UP_PID") - c0) * TICK_US / $(echo "$DIRECTN" | requests) ))
c0=$(cpu_ticks "$GW_PID")
thread_ticks "$GW_PID" >"$WORK/threads0"
GWN=$(load "$CONNECTIONS" "$DURATION" "$GW_PORT")
GW_CPU_US=$(( ($(cpu_ticks "$GW_PID") - c0) * TICK_US / $(echo "$GWN" | requests) ))
thread_ticks "$GW_PID" >"$WORK/threads1"
GW_THREADS=$(thread_cpu "$WORK/threads0" "$WORK/threads1" "$(echo "$GWN" | requests)")
echo "streaming, time to first chunk…"
TTFC_DIRECT=$(taskset -c "$LOAD_CPU" "$JAVA" -cp "$CP" io.agentrouter.dataplane.bench.TimeToFirstChunk 127.0.0.1 "$UP_PORT" "$KEY" 5000 5000)
TTFC_GW=$(taskset -c "$LOAD_CPU" "$JAVA" -cp "$CP" io.agentrouter.dataplane.bench.TimeToFirstChunk 127.0.0.1 "$GW_PORT" "$KEY" 5000 5000)

d50=$(echo "$DIRECT1" | p 50%); d99=$(echo "$DIRECT1" | p 99%)
g50=$(echo "$GW1" | p 50%); g99=$(echo "$GW1" | p 99%)
s_d50=$(echo "$TTFC_DIRECT" | sed -E 's/.*p50_us=([0-9]+).*/\1/'); s_g50=$(echo "$TTFC_GW" | sed -E 's/.*p50_us=([0-9]+).*/\1/')
s_d99=$(echo "$TTFC_DIRECT" | sed -E 's/.*p99_us=([0-9]+).*/\1/'); s_g99=$(echo "$TTFC_GW" | sed -E 's/.*p99_us=([0-9]+).*/\1/')

echo
echo "=== AgentRouter data plane benchmark ($(nproc) CPUs; gateway on CPU $GW_CPU, wrk + upstream on CPU $LOAD_CPU) ==="
printf "%-44s %12s %12s %12s\n" "" "direct" "gateway" "added"
printf "%-44s %12s %12s %12s\n" "1 connection, latency p50 (us)" "$d50" "$g50" "$(awk -v a="$g50" -v b="$d50" 'BEGIN{print a-b}')"
printf "%-44s %12s %12s %12s\n" "1 connection, latency p99 (us)" "$d99" "$g99" "$(awk -v a="$g99" -v b="$d99" 'BEGIN{print a-b}')"
printf "%-44s %12s %12s\n" "1 connection, requests/s" "$(echo "$DIRECT1" | rps)" "$(echo "$GW1" | rps)"
printf "%-44s %12s %12s\n" "$CONNECTIONS connections, requests/s" "$(echo "$DIRECTN" | rps)" "$(echo "$GWN" | rps)"
printf "%-44s %12s %12s\n" "$CONNECTIONS connections, latency p50 (us)" "$(echo "$DIRECTN" | p 50%)" "$(echo "$GWN" | p 50%)"
printf "%-44s %12s %12s %12s\n" "stream, time to first chunk p50 (us)" "$s_d50" "$s_g50" "$((s_g50 - s_d50))"
printf "%-44s %12s %12s %12s\n" "stream, time to first chunk p99 (us)" "$s_d99" "$s_g99" "$((s_g99 - s_d99))"
printf "%-44s %12s %12s\n" "CPU per request (us, user+sys)" "$UP_CPU_US" "$GW_CPU_US"
printf "%-44s %12s %12s\n" "implied requests/s on one free core" "$((1000000 / UP_CPU_US))" "$((1000000 / GW_CPU_US))"
echo "(the 'direct' CPU column is the upstream process alone: one Armeria server doing the least possible)"
echo "gateway CPU by thread, 1 connection:"
echo "$GW1_THREADS"
echo "gateway CPU by thread, $CONNECTIONS connections:"
echo "$GW_THREADS"
for r in "$GW1" "$GWN"; do e=$(echo "$r" | errors); [ -n "$e" ] && echo "gateway errors: $e"; done
echo "targets: >= 20000 req/s on one core; added p50 <= 50 us, p99 <= 200 us; stream first chunk +<= 100 us"
