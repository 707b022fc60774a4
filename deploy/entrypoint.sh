#!/bin/sh
# One image, one role per container: the first argument names it; any further arguments go to
# the program (e.g. `grading-worker --concurrency 4`). Every setting comes from the environment
# (grader/settings.py reads it; deploy/.env.example lists it).
set -eu
role="${1:-web}"
[ "$#" -gt 0 ] && shift
# Operators' metrics (README: "Operating it"): each process tree keeps its numbers in a directory
# of its own; workers serve theirs, with /healthz and /readyz, on WORKER_METRICS_PORT.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/grader-metrics}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
case "$role" in
    grading-worker|worker)
        export WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-9808}" WORKER_METRICS_ADDR="${WORKER_METRICS_ADDR:-0.0.0.0}" ;;
esac
case "$role" in
    web)
        # gunicorn reads WEB_CONCURRENCY (workers) and GUNICORN_CMD_ARGS itself.
        exec gunicorn -c python:grader.gunicorn_conf grader.wsgi --bind "0.0.0.0:${PORT:-8000}" --threads 4 --graceful-timeout 20 \
            --access-logfile - "$@" ;;
    migrate)
        exec python manage.py migrate --noinput "$@" ;;
    grading-worker)
        # One per Docker host: every sandbox container of this worker runs on the daemon that
        # DOCKER_HOST (default: the mounted /var/run/docker.sock) names.
        exec celery -A grader worker -n "grading@%h" -Q grading,regrading --loglevel INFO "$@" ;;
    worker)
        exec celery -A grader worker -n "worker@%h" -Q feedback,default --loglevel INFO "$@" ;;
    beat)
        exec celery -A grader beat --schedule /app/var/celerybeat-schedule --loglevel INFO "$@" ;;
    *)
        exec "$role" "$@" ;;
esac
