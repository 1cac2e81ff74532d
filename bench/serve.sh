#!/usr/bin/env bash
# Concord server benchmark: release binary size, cold start to a healthy /healthz, idle resident
# memory, and requests per second for an authenticated GET /api/v1/clients/{id} at 32
# connections, reported beside a reference measured in the same run (GET /healthz, which does
# no authentication, no decryption and no audit write) because these machines are shared and
# noisy. Needs `wrk` (Debian package) and curl.
#
#   bench/serve.sh                      # SQLite in a temporary data dir
#   bench/serve.sh postgres://postgres@127.0.0.1:5432/postgres   # also PostgreSQL (a fresh database)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CONCORD_BIN:-target/release/concord}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PG_BASE=${1:-}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install -y wrk)" >&2; exit 2; }
[ -x "$BIN" ] || cargo build --release -p concord-cli
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "correct horse battery staple" > "$work/pw"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
wait_healthy() { until curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; do sleep 0.005; done; }
rps() { wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_engine() {
  local name=$1; shift
  local data=(--data-dir "$work/$name" "$@")
  mkdir -p "$work/$name"
  "$BIN" init "${data[@]}" --practice "Bench Practice" --admin-email admin@bench.test --admin-password-file "$work/pw" 2>/dev/null
  "$BIN" user add "${data[@]}" --email sam@bench.test --name "Sam Bench" --role clinician --password-file "$work/pw" >/dev/null
  local token; token=$("$BIN" token create "${data[@]}" --email sam@bench.test)
  # Cold start: process start to the first healthy /healthz, median of 5 (migrations applied).
  local starts=()
  for _ in 1 2 3 4 5; do
    local p; p=$(port)
    local t0; t0=$(now_ms)
    "$BIN" serve "${data[@]}" --listen "127.0.0.1:$p" >/dev/null 2>&1 &
    local pid=$!
    wait_healthy "$p"
    starts+=($(( $(now_ms) - t0 )))
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  local cold; cold=$(printf '%s\n' "${starts[@]}" | median)
  local p; p=$(port)
  "$BIN" serve "${data[@]}" --listen "127.0.0.1:$p" >/dev/null 2>&1 &
  local pid=$!
  wait_healthy "$p"
  sleep 2
  local idle_kb; idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  local id; id=$(curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' \
      -d '{"name": "Bench Client", "date_of_birth": "1980-01-01"}' "http://127.0.0.1:$p/api/v1/clients" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  local ref; ref=$(rps "http://127.0.0.1:$p/healthz")
  local got; got=$(rps -H "Authorization: Bearer $token" "http://127.0.0.1:$p/api/v1/clients/$id")
  local busy_kb; busy_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$name" "$cold" "$idle_kb" "$busy_kb" "$ref" "$got" "${starts[*]}" <<'PY'
import sys
name, cold, idle, busy, ref, got, starts = sys.argv[1:]
ref, got = float(ref), float(got)
print(f"[{name}] cold start to healthy: {cold} ms (median of 5: {starts})")
print(f"[{name}] resident memory: idle {int(idle)/1024:.1f} MiB, after load {int(busy)/1024:.1f} MiB")
print(f"[{name}] GET /api/v1/clients/{{id}} (bearer, decrypt, audit write): {got:.0f} req/s at 32 connections")
print(f"[{name}] reference GET /healthz: {ref:.0f} req/s; ratio client-read/reference = {got/ref:.3f}")
PY
}

size=$(stat -c %s "$BIN")
echo "release binary: $BIN, $(python3 -c "print(f'{$size/1048576:.1f}')") MiB"
run_engine sqlite
if [ -n "$PG_BASE" ]; then
  db="concord_bench_$$"
  prefix=${PG_BASE%/*}
  psql "$PG_BASE" -qc "CREATE DATABASE $db" >/dev/null
  run_engine postgres --database-url "$prefix/$db"
  psql "$PG_BASE" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
fi
