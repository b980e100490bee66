#!/usr/bin/env bash
# What the tests need from the machine, beyond npm packages: Postgres server binaries (the tests
# start a private cluster with initdb + pg_ctl) and Debian's Chromium (the catalog page test; never
# a browser download). Installed with apt-get when missing and we may; otherwise we say how.
set -euo pipefail

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || [ -n "${PG_BIN:-}" ] || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The experiment statistics tests build a Python venv (gbstats, scipy, statsmodels from PyPI).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "The tests need these Debian packages: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} for the tests (apt-get)…" >&2
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
