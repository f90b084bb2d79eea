#!/usr/bin/env bash
# The test suite starts its own throwaway PostgreSQL cluster; it needs the server
# binaries (initdb, pg_ctl). Install them when missing and we are allowed to.
set -euo pipefail
if [ -n "${BASELINR_TEST_PG_URL:-}" ]; then exit 0; fi
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL server binaries not found; installing them with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
  exit 0
fi
echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL 13+" >&2
echo "(Debian/Ubuntu: apt-get install postgresql), or set BASELINR_TEST_PG_URL." >&2
if [ -n "${CI:-}" ]; then exit 1; fi
