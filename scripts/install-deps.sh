#!/usr/bin/env bash
# Installs the third-party programs the integration suites talk to (real
# clients and servers, from Debian's packages and Maven Central). Idempotent:
# what is already installed is skipped. CI calls it from .ci/run.
set -euo pipefail

# Debian packages the integration suites need (program to check → package).
declare -A APT_PACKAGES=(
  [logger]=bsdutils
  [openssl]=openssl
  # fluent-logger-python, an independent forward protocol client (test/integration/forward-python.test.ts)
  [/usr/lib/python3/dist-packages/fluent]=python3-fluent-logger
  [/lib/systemd/systemd-journal-upload]=systemd-journal-remote
)

missing=()
for program in "${!APT_PACKAGES[@]}"; do
  command -v "$program" >/dev/null 2>&1 || [ -x "$program" ] || missing+=("${APT_PACKAGES[$program]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: everything present"
fi

# python-evtx, the independent EVTX parser the EVTX cross-check compares
# against (test/integration/evtx-python.test.ts), in a virtualenv under .tmp/.
PY_ENV="$(cd "$(dirname "$0")/.." && pwd)/.tmp/python-evtx"
if "$PY_ENV/bin/python" -c 'import Evtx' >/dev/null 2>&1; then
  echo "install-deps: python-evtx present"
else
  echo "install-deps: installing python-evtx into $PY_ENV"
  if ! python3 -m venv "$PY_ENV" >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv
    python3 -m venv "$PY_ENV"
  fi
  "$PY_ENV/bin/pip" install -q python-evtx==0.8.1
fi
