#!/usr/bin/env bash
# Issue 3's benchmarks, on SQLite in a temporary data dir (or PostgreSQL with a URL argument):
#   write path: client-portal submissions and API submissions (auth, validation, scoring,
#     encryption, audit, durable commit), each reported beside bare durable single-row SQLite
#     commits on the same disk measured in the same run (`concord bench commits`);
#   read path: the caseload page and a client record page at 32 connections, with a caseload of
#     CLIENTS clients each holding YEARS of weekly PHQ-9, GAD-7 and WSAS and daily check-ins
#     (`concord bench seed`: improvers, non-responders, deteriorators, dropouts).
# Needs wrk and curl.
#   bench/measures.sh [POSTGRES_URL]       CLIENTS=100 YEARS=3 BENCH_SECONDS=10 by default
#   CONCORD_BIN=path measures another build; SEED_BIN=path seeds with another build (for a
#   before/after pair on the same generated data: seed with the newer one).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CONCORD_BIN:-target/release/concord}
SECS=${BENCH_SECONDS:-10}
CLIENTS=${CLIENTS:-100}
YEARS=${YEARS:-3}
PG_BASE=${1:-}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install -y wrk)" >&2; exit 2; }
[ -x "$BIN" ] || cargo build --release -p concord-cli
work=$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
data=(--data-dir "$work")
if [ -n "$PG_BASE" ]; then
  db="concord_measures_bench_$$"
  psql "$PG_BASE" -qc "CREATE DATABASE $db" >/dev/null
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"; psql "$PG_BASE" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
  data+=(--database-url "${PG_BASE%/*}/$db")
fi
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

seed=$("${SEED_BIN:-$BIN}" bench seed "${data[@]}" --clients "$CLIENTS" --years "$YEARS")
cookie=$(field "$seed" session_cookie); token=$(field "$seed" token); client=$(field "$seed" client_id); secret=$(field "$seed" portal_secret)
echo "seeded: $(field "$seed" clients) clients, $(field "$seed" responses) responses"
# Measure a practice in its steady state, not the bulk load's aftermath: on PostgreSQL the load
# leaves autovacuum and a checkpoint of some hundreds of MB to run, which would share the 2 cores
# and the disk with the first measurements.
if [ -n "$PG_BASE" ]; then psql "${PG_BASE%/*}/$db" -qc "VACUUM ANALYZE" -qc "CHECKPOINT" >/dev/null; fi
# The reference, and the disk's own commit tail (a page waits for its audit entries' commit, so
# a disk whose fsync stalls shows in the reads' p99); measured again after the loads.
probe() { "$BIN" bench commits --data-dir "$work" --count 10000; }
before=$(probe)
reference=$(field "$before" commits_per_second)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve "${data[@]}" --listen "127.0.0.1:$port" --session-idle-minutes 600 >/dev/null 2>"$work/server.log" &
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.05; done
base="http://127.0.0.1:$port"

# The server's group commits so far, and how many of them took 20 ms or more (/metrics): every
# request of a batch waits for its commit, so each slow disk flush shows in the tail latency.
commits() { curl -fsS "$base/metrics" | awk '$1=="concord_group_commits_total" {t=$2} $1=="concord_group_commits_over_20ms_total" {s=$2} END {print t+0, s+0}'; }

run() { # name, then wrk arguments; prints "name|req/s|p50|p99|errors|commits|slow commits"
  local name=$1; shift
  # Two seconds of warm-up at the same load, not counted: the views a page keeps in memory are
  # built once per client and then served to every later request, as in a working practice.
  wrk -t2 -c32 -d2s --timeout 60s "$@" >/dev/null
  local c0 s0 c1 s1; read -r c0 s0 < <(commits)
  local out; out=$(wrk -t2 -c32 -d"${SECS}s" --timeout 60s --latency "$@")
  read -r c1 s1 < <(commits)
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local p50; p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  local p99; p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errs; errs=$(awk '/Non-2xx or 3xx/ {print $5}' <<<"$out")
  echo "$name|$rps|$p50|$p99|${errs:-0}|$((c1 - c0))|$((s1 - s0))"
}

portal_cookie=$(curl -s -o /dev/null -D - "$base/portal/$secret" | awk -F'[ ;]' 'tolower($1)=="set-cookie:" {print $2}' | head -n1)
# Every submission is new: each wrk thread, in each run, keys its submissions with a random
# prefix of its own. (math.random is seeded alike in every thread and run, so keys built from it
# repeated, and most measured submissions were replays of the warm-up's.)
cat >"$work/portal.lua" <<'LUA'
function setup(thread)
  local urandom = assert(io.open("/dev/urandom", "rb"))
  thread:set("prefix", "bench-" .. urandom:read(8):gsub(".", function(c) return string.format("%02x", c:byte()) end))
  urandom:close()
end
counter = 0
request = function()
  counter = counter + 1
  local body = "item_mood=6&item_sleep=5&item_energy=6&item_work_study=5&item_relationships=7&item_harm_thoughts=0&item_note=&idempotency_key=" .. prefix .. "-" .. counter
  return wrk.format("POST", "/portal/forms/checkin", {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = COOKIE}, body)
end
LUA
sed -i "1i COOKIE = \"$portal_cookie\"" "$work/portal.lua"
cat >"$work/api.lua" <<LUA
request = function()
  local body = '{"instrument": "checkin", "answers": [6, 5, 6, 5, 7, 0], "completed_at": "' .. os.date("!%Y-%m-%dT%H:%M:%SZ") .. '"}'
  return wrk.format("POST", "/api/v1/clients/$client/responses", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token"}, body)
end
LUA

results=()
results+=("$(run "read: caseload page ($CLIENTS clients)" -H "Cookie: $cookie" "$base/caseload")")
results+=("$(run "read: client record page" -H "Cookie: $cookie" "$base/clients/$client")")
results+=("$(run "write: portal check-in submission" -s "$work/portal.lua" "$base")")
results+=("$(run "write: API response submission" -s "$work/api.lua" "$base")")

# Every request above was audited: the chains must still verify after the load.
kill $(jobs -p) 2>/dev/null || true
wait 2>/dev/null || true
verify=$("$BIN" audit verify "${data[@]}" 2>&1) && verified="$verify" || verified="BROKEN: $verify"
after=$(probe)
disk() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(f\"{d['commits_per_second']:.0f}/s, p50 {d['p50_ms']:.2f} ms, p99 {d['p99_ms']:.2f} ms, max {d['max_ms']:.1f} ms, {d['over_20_ms']} of {d['commits']} over 20 ms\")" "$1"; }

printf '\nreference: bare durable single-row SQLite commits on the same disk: %.0f/s\n' "$reference"
echo "disk before the loads: $(disk "$before")"
echo "disk after the loads:  $(disk "$after")"
for r in "${results[@]}"; do
  IFS='|' read -r name rps p50 p99 errs commits slow <<<"$r"
  ratio=$(python3 -c "print(f'{float(\"$rps\")/float(\"$reference\"):.2f}')")
  printf '%-45s %8s req/s  p50 %-9s p99 %-9s non-2xx/3xx %-6s  ratio to bare commits %s  (group commits %s, %s of them 20 ms or more)\n' \
    "$name" "$rps" "$p50" "$p99" "$errs" "$ratio" "$commits" "$slow"
done
echo "audit chains after the load: $verified"
