#!/usr/bin/env bash
# Issue 4's benchmark: `concord prompts sweep` over CLIENTS clients, each with YEARS of weekly
# sessions, weekly PHQ-9, GAD-7 and WSAS and daily check-ins (`concord bench seed-prompts`: bulk
# INSERTs; improvers, non-responders, deteriorators, dropouts; some overdue, some deferred
# prompts come due). Runs the sweep twice under /usr/bin/time -v, the first run and the
# idempotent second one, and reports the wall time, the sweep's own elapsed time and the
# maximum resident memory of each. SQLite in a temporary data dir, or PostgreSQL with a URL.
#   bench/prompts.sh [POSTGRES_URL]
#   CLIENTS=10000 YEARS=3 PENDING=0 (percent of active clients marked pending) by default;
#   KEEP=1 keeps the data dir (and database) for more runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CONCORD_BIN:-target/release/concord}
CLIENTS=${CLIENTS:-10000}
YEARS=${YEARS:-3}
PENDING=${PENDING:-0}
PG_BASE=${1:-}
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install -y time)" >&2; exit 2; }
[ -x "$BIN" ] || cargo build --release -p concord-cli
work=$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")
db=""
cleanup() {
  if [ -n "${KEEP:-}" ]; then echo "kept: $work ${db:+(database $db)}"; return; fi
  rm -rf "$work"
  if [ -n "$db" ]; then psql "$PG_BASE" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; fi
}
trap cleanup EXIT
data=(--data-dir "$work")
engine=sqlite
if [ -n "$PG_BASE" ]; then
  db="concord_sweep_bench_$$"
  psql "$PG_BASE" -qc "CREATE DATABASE $db" >/dev/null
  data+=(--database-url "${PG_BASE%/*}/$db")
  engine=postgres
fi
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "engine: $engine; $(nproc) cores; $(uptime | sed 's/.*load average/load average/')"
seed=$("$BIN" bench seed-prompts "${data[@]}" --clients "$CLIENTS" --years "$YEARS" --pending-percent "$PENDING")
echo "seed: $seed"
printf 'seeded %s clients, %s responses, %s sessions in %.0f s\n' \
  "$(field "$seed" clients)" "$(field "$seed" responses)" "$(field "$seed" sessions)" "$(field "$seed" seconds)"
if [ "$engine" = sqlite ]; then
  echo "database: $(du -sh "$work" | cut -f1) on disk"
else
  echo "database: $(psql "$PG_BASE" -Atc "SELECT pg_size_pretty(pg_database_size('$db'))")"
fi

for run in first second; do
  /usr/bin/time -v "$BIN" prompts sweep "${data[@]}" --json >"$work/$run.json" 2>"$work/$run.time"
  out=$(cat "$work/$run.json")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$run.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$run.time")
  cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$work/$run.time")
  printf '%-6s sweep: wall %s, sweep %s ms, max RSS %.1f MiB, CPU %s | checked %s, evaluated %s, opened %s, reopened %s\n' \
    "$run" "$wall" "$(field "$out" elapsed_ms)" "$(python3 -c "print($rss/1024)")" "$cpu" \
    "$(field "$out" clients_checked)" "$(field "$out" clients_evaluated)" "$(field "$out" opened)" "$(field "$out" reopened)"
done
