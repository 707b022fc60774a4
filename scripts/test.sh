#!/usr/bin/env bash
# README command 2: set up, then run the whole test suite (extra arguments go to pytest).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export DATABASE_URL="${DATABASE_URL:-postgres://grader:grader@127.0.0.1:5432/grader}"
# Tests use their own Redis database so a running demo is not disturbed.
export CELERY_BROKER_URL="${TEST_CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}"
export CACHE_URL="${TEST_CACHE_URL:-redis://127.0.0.1:6379/11}"
exec "$ROOT/.venv/bin/pytest" "$@"
