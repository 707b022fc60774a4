#!/usr/bin/env bash
# Static type check (mypy, settings in pyproject.toml) of the modules that are typed so far.
# Add a package or file to TARGETS once it passes; this list is the only one.
# MYPY=/path/to/mypy overrides the virtualenv's (e.g. a work tree without its own .venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGETS=(
  sandbox
  feedback/llm.py
  feedback/control.py
  grading/models.py
  grading/scoring.py
  grading/states.py
  grading/signals.py
  grading/services.py
  grading/run.py
  grading/staff.py
  grading/sweeper.py
  grading/tasks.py
  grading/static_checks.py
  grading/code_reading.py
  observe/metrics.py
  observe/logs.py
  observe/exporter.py
  grading/live.py
)
exec "${MYPY:-.venv/bin/mypy}" "$@" "${TARGETS[@]}"
