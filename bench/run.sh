#!/usr/bin/env bash
# Benchmark `diagnose` on a large synthetic board: wall time and peak memory (max RSS).
#   bench/run.sh [TASKS] [RUNS_PER_TASK] [EVENTS_PER_TASK]    (default 100000 10 30)
# The board is cached in target/bench/ and rebuilt when the sizes change.
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-100000} runs=${2:-10} events=${3:-30}
board="target/bench/board-${tasks}-${runs}-${events}.db"
mkdir -p target/bench
if [ ! -f "$board" ]; then
  echo "building $board ..."
  python3 bench/make_big_board.py "$board" --tasks "$tasks" --runs-per-task "$runs" --events-per-task "$events"
fi
cargo build --release --quiet
ls -l "$board"
for mode in "" "--json"; do
  for i in 1 2 3; do
    /usr/bin/time -f "diagnose $mode: %e s wall, %M KiB max RSS" \
      ./target/release/kanban-doctor diagnose --db "$board" --now 1796000000 --exit-zero $mode > /dev/null
  done
done
