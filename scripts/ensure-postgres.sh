#!/usr/bin/env bash
# The test suite starts its own throwaway PostgreSQL cluster; it needs the server
# binaries (initdb, pg_ctl). Install them when missing and we are allowed to.
set -euo pipefail
if [ -n "${BASELINR_TEST_PG_URL:-}" ]; then exit 0; fi
can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}
# The hll extension (approx_distinct_count's native sketches) for each installed server;
# the suite falls back to (and tests) the portable path where it is absent.
ensure_hll() {
  can_apt || return 0
  for dir in /usr/lib/postgresql/*/; do
    version=$(basename "$dir")
    if [ ! -f "/usr/share/postgresql/$version/extension/hll.control" ]; then
      echo "installing postgresql-$version-hll (native HyperLogLog sketches)" >&2
      apt_install "postgresql-$version-hll" || echo "postgresql-$version-hll not installed" >&2
    fi
  done
}
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  ensure_hll
  exit 0
fi
if can_apt; then
  echo "PostgreSQL server binaries not found; installing them with apt-get" >&2
  apt_install postgresql
  ensure_hll
  exit 0
fi
echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL 13+" >&2
echo "(Debian/Ubuntu: apt-get install postgresql), or set BASELINR_TEST_PG_URL." >&2
if [ -n "${CI:-}" ]; then exit 1; fi
