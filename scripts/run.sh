#!/usr/bin/env bash
# Start one Celery worker (every queue, with the orphaned-job reaper) and the web server.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
cd "$(dirname "$0")/.."
# Development settings for both processes: config.wsgi and config.celery default to production ones.
export DJANGO_SETTINGS_MODULE=config.settings.local
mkdir -p var/log
.venv/bin/celery -A config worker -Q default,gpu -B --concurrency 1 --loglevel INFO >var/log/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo "Worker started (pid $WORKER, log var/log/worker.log)"
echo "Winnow is at http://$HOST:$PORT/  (stop with Ctrl-C)"
.venv/bin/python manage.py runserver "$HOST:$PORT" --noreload
