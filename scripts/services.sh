#!/usr/bin/env bash
# Start PostgreSQL and Redis for the test suite if they are not answering.
set -uo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
# An S3-protocol server for the object-storage tests (tests/s3): moto's standalone server, its own process
# reached over HTTP like a real object store. It keeps its state in memory: tests make their own buckets.
S3_HOST=127.0.0.1
S3_PORT=${WINNOW_TEST_S3_PORT:-5055}
s3_answers() { curl -s -o /dev/null --max-time 2 "http://$S3_HOST:$S3_PORT/moto-api/" ; }
if ! s3_answers; then
  echo "Starting the S3 test server (moto) on $S3_HOST:$S3_PORT"
  MOTO_SERVER=${VENV:-.venv}/bin/moto_server
  [ -x "$MOTO_SERVER" ] || { echo "$MOTO_SERVER is missing: run make install" >&2; exit 1; }
  S3_LOG_DIR=${TMPDIR:-/tmp}/winnow-moto
  mkdir -p "$S3_LOG_DIR"
  setsid nohup "$MOTO_SERVER" -H "$S3_HOST" -p "$S3_PORT" >"$S3_LOG_DIR/moto-$S3_PORT.log" 2>&1 < /dev/null &
  echo $! >"$S3_LOG_DIR/moto-$S3_PORT.pid"
  for _ in $(seq 30); do s3_answers && break; sleep 1; done
fi
s3_answers || { echo "The S3 test server is not reachable on $S3_HOST:$S3_PORT" >&2; exit 1; }
