#!/usr/bin/env bash
# Start the local PostgreSQL and Redis when they are installed but not running.
# (Machines of this project start both at boot; this covers a stopped service.)
set -u
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is not answering on 127.0.0.1:5432: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  else
    echo "PostgreSQL is not running and pg_ctlcluster is missing: start it (see README, 'Prerequisites')." >&2
  fi
fi
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is not answering on 127.0.0.1:6379: starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is still not answering." >&2
echo "Install them (apt-get install postgresql redis-server) or run 'docker compose up -d postgres redis'." >&2
exit 1
