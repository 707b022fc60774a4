#!/usr/bin/env bash
# README command 1: set up, seed the demo course, start the web site and the Celery workers.
# Ctrl-C stops everything this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
PY="$ROOT/.venv/bin"
PORT="${PORT:-8000}"
export DATABASE_URL="${DATABASE_URL:-postgres://grader:grader@127.0.0.1:5432/grader}"
# setup.sh registered crun with dockerd: the same containers as runc's for less CPU each.
export SANDBOX_RUNTIME="${SANDBOX_RUNTIME:-crun}"

"$PY/python" manage.py seed_demo

pids=()
LLM_PORT="${LLM_PORT:-8100}"
# Hints come from the project's vLLM-like server unless LLM_BASE_URL points at a real one.
if [ -z "${LLM_BASE_URL:-}" ]; then
  export LLM_BASE_URL="http://127.0.0.1:$LLM_PORT/v1"
  START_DEVSERVER=1
fi
cleanup() {
  trap - INT TERM EXIT
  echo; echo "[demo] stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Give the workers a moment to finish their jobs (warm shutdown), then insist.
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "[demo] stopped"
}
trap cleanup INT TERM EXIT

if [ "${START_DEVSERVER:-0}" = 1 ]; then
  "$PY/python" -m feedback.devserver --port "$LLM_PORT" >"var/log/llm.log" 2>&1 &
  pids+=($!)
fi
# Grading has its own worker (the containers), so hints never hold it up; the other runs the
# hints, webhooks and, with -B, the periodic sweeper (in production, `celery beat` on its own).
"$PY/celery" -A grader worker -n grading@%h -Q grading,regrading --concurrency 2 --loglevel INFO \
  >"var/log/worker.log" 2>&1 &
pids+=($!)
"$PY/celery" -A grader worker -n feedback@%h -B -s var/celerybeat-schedule -Q feedback,default \
  --concurrency 2 --loglevel INFO \
  >"var/log/feedback-worker.log" 2>&1 &
pids+=($!)
"$PY/gunicorn" grader.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 4 --graceful-timeout 5 --access-logfile - \
  >"var/log/web.log" 2>&1 &
pids+=($!)

for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/accounts/login/" && break; sleep 0.2; done
cat <<MSG

  grader is running at http://127.0.0.1:$PORT/

  Logins (password: demo-pass-2026):
    instructor  (course instructor; also the admin site at /admin/)
    ta          (teaching assistant)
    alice, bob, carol  (students)

  Hints: $LLM_BASE_URL ${START_DEVSERVER:+(the built-in vLLM-like dev server)}
  Logs: var/log/web.log, var/log/worker.log (grading), var/log/feedback-worker.log, var/log/llm.log.
  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
