#!/usr/bin/env bash
# The converged reproduction of issue 17 (`lrlc reproduce --preset converged`), in the
# background and resumable: run `scripts/converged.sh start` again after any stop (a reboot,
# a kill, the end of a session) and it goes on from the last finished epoch of every run.
#
#   scripts/converged.sh start    train (2 worker processes x 1 thread), then report
#   scripts/converged.sh report   report the runs finished so far (no training)
#   scripts/converged.sh status   is it running; how many runs have finished
#   scripts/converged.sh stop     stop it (the next start resumes)
#   scripts/converged.sh commit   report the finished runs, commit their records and the reports
#
# Records go to docs/results/converged/records/<sweep>/runs/<run id>/ (result.json and
# metrics.jsonl are committed as runs finish; checkpoint.pt is ignored by git), reports to
# docs/results/converged/report/<sweep>/, the log to docs/results/converged/launch.log.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=docs/results/converged
PID_FILE=$OUT/launch.pid
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
LRLC=(python -m lrlc.cli reproduce --preset converged --out "$OUT/records" --report-dir "$OUT/report")

running() { [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "already running (pid $(cat "$PID_FILE"))"; exit 0; fi
    mkdir -p "$OUT"
    echo "== $(date -Is) start at commit $(git rev-parse --short HEAD)" >> "$OUT/launch.log"
    # A session of its own, so that `stop` ends the worker processes with it (its pid is the
    # process group's id).
    # float32 and NCHW on every machine: the runs began that way (before channels_last became
    # `auto` on AVX-512 CPUs), and one reproduction keeps one layout. LRLC_PATH_TIMING=0 keeps
    # the cost model's LRLC paths, as its earlier runs took (no timed close calls).
    LRLC_PATH_TIMING=0 setsid nohup "${LRLC[@]}" --workers 2 --precision fp32 --no-channels-last \
        >> "$OUT/launch.log" 2>&1 < /dev/null &
    echo $! > "$PID_FILE"
    echo "started (pid $!); log: $OUT/launch.log" ;;
  report)
    "${LRLC[@]}" --report-only ;;
  status)
    if running; then echo "running (pid $(cat "$PID_FILE"))"; else echo "not running"; fi
    done=0
    [[ -d $OUT/records ]] && done=$(find "$OUT/records" -name result.json | wc -l)
    total=$(python -c "from lrlc.experiments.reproduce import CONVERGED; print(CONVERGED.n_runs())")
    echo "$done of $total runs finished"
    python -m lrlc.experiments.reproduce.remaining "$OUT/records" --timings "$OUT/timings.json" ;;
  commit)
    # Finished runs only: a run in progress has no result.json, and its partial metrics.jsonl
    # would be rewritten anyway when it resumes (from scratch, on a machine without its
    # checkpoint).
    # The reports first, so that the committed ones are those of the committed records.
    "${LRLC[@]}" --report-only > /dev/null
    mapfile -t finished < <(find "$OUT/records" -name result.json -printf '%h\n' | sort)
    files=()
    for run in "${finished[@]}"; do
      for f in result.json metrics.jsonl learned.pt; do [[ -f $run/$f ]] && files+=("$run/$f"); done
    done
    files+=($(find "$OUT/records" -maxdepth 2 -name sweep.json) "$OUT/report")
    git add -- "${files[@]}"
    if git diff --cached --quiet; then echo "nothing new to commit"; exit 0; fi
    total=$(python -c "from lrlc.experiments.reproduce import CONVERGED; print(CONVERGED.n_runs())")
    git commit -q -m "converged: records of ${#finished[@]} of $total runs" -- "${files[@]}"
    echo "committed the records of ${#finished[@]} of $total runs" ;;
  stop)
    if ! running; then echo "not running"; exit 0; fi
    kill -TERM -- "-$(cat "$PID_FILE")"
    # Wait for the workers to exit, so that a `start` right after does not find them running.
    for _ in $(seq 60); do running || break; sleep 0.5; done
    if running; then echo "still stopping (pid $(cat "$PID_FILE"))"; exit 1; fi
    echo "stopped" ;;
  *)
    echo "usage: $0 start|report|status|stop|commit" >&2; exit 2 ;;
esac
