#!/usr/bin/env bash
# Installs the third-party programs the integration suites talk to (real
# clients and servers, from Debian's packages and Maven Central). Idempotent:
# what is already installed is skipped. CI calls it from .ci/run.
set -euo pipefail

# Debian packages the integration suites need (program to check → package).
declare -A APT_PACKAGES=(
  [logger]=bsdutils
  [openssl]=openssl
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
