#!/usr/bin/env bash
# Point-in-time recovery for ERP Core's PostgreSQL (docs/backups.md, "Point-in-time recovery").
#
#   pitr.sh archive-config ARCHIVE_DIR
#       print the postgresql.conf lines that turn on WAL archiving into ARCHIVE_DIR
#   pitr.sh base-backup DEST_DIR
#       pg_basebackup of the running server (connection from PGHOST/PGPORT/PGUSER/PGPASSWORD)
#       into DEST_DIR (plain format, WAL streamed in, fast checkpoint)
#   pitr.sh restore BASE_BACKUP_DIR ARCHIVE_DIR NEW_PGDATA "TARGET_TIME" [PORT]
#       build NEW_PGDATA from the base backup, replay archived WAL up to TARGET_TIME
#       (e.g. "2026-11-26 13:30:00+00"), promote, and start it on PORT (default 5433);
#       exits non-zero unless the server came up and left recovery.
#
# Run it as the OS user that owns the cluster (postgres). PG_BIN defaults to the newest
# /usr/lib/postgresql/*/bin.
set -euo pipefail

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"

die() { echo "pitr.sh: $*" >&2; exit 1; }

cmd="${1:-}"
case "$cmd" in
archive-config)
  archive="${2:?ARCHIVE_DIR required}"
  cat <<CONF
wal_level = replica
archive_mode = on
archive_command = 'test ! -f ${archive}/%f && cp %p ${archive}/%f'
archive_timeout = 60
CONF
  ;;
base-backup)
  dest="${2:?DEST_DIR required}"
  [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ] && die "$dest exists and is not empty"
  "$PG_BIN/pg_basebackup" -D "$dest" -Fp -X stream -c fast --no-password
  echo "base backup written to $dest"
  ;;
restore)
  base="${2:?BASE_BACKUP_DIR required}"
  archive="${3:?ARCHIVE_DIR required}"
  pgdata="${4:?NEW_PGDATA required}"
  target="${5:?TARGET_TIME required}"
  port="${6:-5433}"
  [ -f "$base/PG_VERSION" ] || die "$base is not a base backup (no PG_VERSION)"
  [ -d "$archive" ] || die "WAL archive $archive does not exist"
  [ -e "$pgdata" ] && [ -n "$(ls -A "$pgdata" 2>/dev/null)" ] && die "$pgdata exists and is not empty"
  mkdir -p "$pgdata"
  cp -a "$base/." "$pgdata/"
  chmod 700 "$pgdata"
  rm -f "$pgdata/postmaster.pid" "$pgdata/standby.signal"
  cat >> "$pgdata/postgresql.auto.conf" <<CONF
# --- added by pitr.sh restore ---
restore_command = 'cp ${archive}/%f %p'
recovery_target_time = '${target}'
recovery_target_action = 'promote'
archive_mode = off
port = ${port}
CONF
  touch "$pgdata/recovery.signal"
  "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/recovery.log" -w -t 120 start \
    || { tail -20 "$pgdata/recovery.log" >&2; die "server did not start"; }
  for _ in $(seq 1 120); do
    state="$("$PG_BIN/psql" -h 127.0.0.1 -p "$port" -d postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null || true)"
    [ "$state" = "f" ] && { echo "recovered to $target; server on port $port"; exit 0; }
    sleep 0.5
  done
  tail -20 "$pgdata/recovery.log" >&2
  die "still in recovery after 60s (is the WAL up to $target archived?)"
  ;;
*)
  sed -n '2,17p' "$0" >&2
  exit 2
  ;;
esac
