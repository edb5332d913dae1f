#!/usr/bin/env bash
# Debian packages some integration tests drive for real: nginx (the X-Accel-Redirect download
# test runs the shipped deploy/nginx-files.conf) and chromium (the /ops/ page tests drive it with
# Playwright for Python: core/ops/tests/test_ops_browser.py) and pgbouncer (`make test` runs the
# API and order tests once more through a private PgBouncer in transaction mode; the sample
# deploy/pgbouncer/pgbouncer.ini is started by core/db/tests/test_pgbouncer.py). Installed when
# missing and apt is usable; without them those tests skip and say why.
set -u
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Not installing ${missing[*]} (needs root and apt-get); the tests using it will skip."
  exit 0
fi
echo "Installing ${missing[*]} for the integration tests"
# Don't let the packages start a system nginx on port 80 or a system pgbouncer on 6432: the
# tests start their own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
{ apt-get install -y -q --no-install-recommends "${missing[@]}" ||
  { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } \
  >/tmp/erp-apt.log 2>&1 || echo "apt-get failed (see /tmp/erp-apt.log); the tests using ${missing[*]} will skip."
[ "$created_policy" = 1 ] && rm -f "$policy"
exit 0
