#!/usr/bin/env bash
# Issue 4's benchmark: `concord prompts sweep` over CLIENTS clients, each with YEARS of weekly
# sessions, weekly PHQ-9, GAD-7 and WSAS and daily check-ins (`concord bench seed-prompts`: bulk
# INSERTs; improvers, non-responders, deteriorators, dropouts; some overdue, some deferred
# prompts come due). Runs the sweep twice under /usr/bin/time -v, the first run and the
# idempotent second one, and reports the wall time, the sweep's own elapsed time and the
# maximum resident memory of each. SQLite in a temporary data dir, or PostgreSQL with a URL.
#   bench/prompts.sh [POSTGRES_URL]
#   CLIENTS=10000 YEARS=3 PENDING=0 (percent of active clients marked pending) by default;
#   KEEP=1 keeps the data dir (and database) for more runs;
#   REUSE=DIR re-runs the sweeps on a kept data dir instead of seeding (pass the same
#   POSTGRES_URL): the prompts, their events and the pending marks are first put back as the seed
#   left them (saved in bench_seed_* tables right after seeding), then PENDING percent of the
#   active clients are marked pending (PENDING=100: every client evaluated whole).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CONCORD_BIN:-target/release/concord}
CLIENTS=${CLIENTS:-10000}
YEARS=${YEARS:-3}
PENDING=${PENDING:-0}
PG_BASE=${1:-}
[ -x /usr/bin/time ] || { echo "bench: needs GNU time (apt-get install -y time)" >&2; exit 2; }
[ -x "$BIN" ] || cargo build --release -p concord-cli
if [ -n "${REUSE:-}" ]; then work=$REUSE; KEEP=1; else work=$(mktemp -d -p "${BENCH_DIR:-$PWD/target}"); fi
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
  if [ -n "${REUSE:-}" ]; then db=$(cat "$work/pg_database"); else db="concord_sweep_bench_$$"; fi
  data+=(--database-url "${PG_BASE%/*}/$db")
  engine=postgres
fi
sql() {
  if [ "$engine" = sqlite ]; then sqlite3 "$work/concord.db" "$1"; else psql "${PG_BASE%/*}/$db" -qAtc "$1"; fi
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "engine: $engine; $(nproc) cores; $(uptime | sed 's/.*load average/load average/')"
if [ -z "${REUSE:-}" ]; then
  if [ -n "$db" ]; then psql "$PG_BASE" -qc "CREATE DATABASE $db" >/dev/null; echo "$db" >"$work/pg_database"; fi
  seed=$("$BIN" bench seed-prompts "${data[@]}" --clients "$CLIENTS" --years "$YEARS" --pending-percent "$PENDING")
  echo "seed: $seed"
  printf 'seeded %s clients, %s responses, %s sessions in %.0f s\n' \
    "$(field "$seed" clients)" "$(field "$seed" responses)" "$(field "$seed" sessions)" "$(field "$seed" seconds)"
  # PostgreSQL: what autovacuum does to bulk-loaded tables soon after (planner statistics, and
  # the visibility map that lets index-only scans skip the table), done now rather than mid-run.
  if [ "$engine" = postgres ]; then sql "VACUUM ANALYZE"; fi
  for t in prompts prompt_events prompt_pending; do sql "CREATE TABLE bench_seed_$t AS SELECT * FROM $t"; done
else
  # Back to the seeded prompts, then the pending marks asked for.
  sql "DELETE FROM prompt_events; DELETE FROM prompts; DELETE FROM prompt_pending;
       INSERT INTO prompts SELECT * FROM bench_seed_prompts; INSERT INTO prompt_events SELECT * FROM bench_seed_prompt_events;
       INSERT INTO prompt_pending SELECT * FROM bench_seed_prompt_pending;"
  active=$(sql "SELECT COUNT(*) FROM clients WHERE status = 'active'")
  sql "INSERT INTO prompt_pending (client_id, practice_id, since) SELECT id, practice_id, $(date +%s) FROM clients
       WHERE status = 'active' ORDER BY id LIMIT $((active * PENDING / 100)) ON CONFLICT (client_id) DO NOTHING"
  echo "reused $work: prompts reset to the seed's, $(sql "SELECT COUNT(*) FROM prompt_pending") of $active active clients pending"
fi
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
