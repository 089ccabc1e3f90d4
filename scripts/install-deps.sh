#!/usr/bin/env bash
# Installs the third-party programs the integration suites talk to (real
# clients and servers, from Debian's packages and Maven Central). Idempotent:
# what is already installed is skipped. CI calls it from .ci/run.
set -euo pipefail

# Debian packages the integration suites need (program or file to check → package).
declare -A APT_PACKAGES=(
  [logger]=bsdutils
  [openssl]=openssl
  # fetching a Go toolchain for the logcli build when Debian's Go (1.19) is too old
  [curl]=curl
  [unzip]=unzip
  # fluent-logger-python, an independent forward protocol client (test/integration/forward-python.test.ts)
  [/usr/lib/python3/dist-packages/fluent]=python3-fluent-logger
  [/lib/systemd/systemd-journal-upload]=systemd-journal-remote
  # a network namespace without network (test/integration/geoip-offline.test.ts)
  [unshare]=util-linux
  # rsyslogd and its TLS driver (test/integration/syslog.test.ts)
  [rsyslogd]=rsyslog
  [/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so]=rsyslog-gnutls
  # Debian's browser, driven by playwright-core (test/integration/ui.test.ts)
  [chromium]=chromium
  # the agent's journald input follows journals with journalctl; its test writes them with systemd-journal-remote
  [journalctl]=systemd
  [/lib/systemd/systemd-journal-remote]=systemd-journal-remote
)

missing=()
for program in "${!APT_PACKAGES[@]}"; do
  command -v "$program" >/dev/null 2>&1 || [ -e "$program" ] || missing+=("${APT_PACKAGES[$program]}")
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

# logcli (Loki's command-line client) for test/integration/logcli.test.ts.
# Not in Debian; built from Loki's Go module with a Go toolchain (1.21 or
# newer fetches the one Loki needs). Debian 12 has only Go 1.19, so without a
# newer go on PATH the Go release Loki's go.mod names is fetched from the Go
# module proxy (the module golang.org/toolchain, as go itself fetches it).
# `go install .../logcli@version` refuses
# Loki's module because its go.mod has replace directives, so it is built as
# the main module; its nested pkg/push module is not in the module zip and is
# fetched at the version go.mod names. Takes a while (a large Go build).
LOKI_VERSION=v3.7.8
TOOLS_DIR="${CAIRN_TOOLS_DIR:-$HOME/.cache/cairn-tools}"
if command -v logcli >/dev/null 2>&1 || [ -x "$TOOLS_DIR/bin/logcli" ]; then
  echo "install-deps: logcli present"
else
  GO=go
  go_minor="$( (go env GOVERSION 2>/dev/null || true) | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
  if [ "${go_minor:-0}" -lt 21 ]; then
    go_version="$(curl -fsSL "https://proxy.golang.org/github.com/grafana/loki/v3/@v/$LOKI_VERSION.mod" | sed -n 's/^go \([0-9.]*\)$/\1/p')"
    case "$(uname -m)" in x86_64) go_arch=amd64 ;; aarch64) go_arch=arm64 ;; *) go_arch="$(uname -m)" ;; esac
    toolchain="v0.0.1-go$go_version.linux-$go_arch"
    GO="$TOOLS_DIR/go/golang.org/toolchain@$toolchain/bin/go"
    if [ ! -x "$GO" ]; then
      echo "install-deps: fetching Go $go_version from the Go module proxy into $TOOLS_DIR/go"
      mkdir -p "$TOOLS_DIR/go"
      curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/$toolchain.zip" -o "$TOOLS_DIR/go/toolchain.zip"
      unzip -q -o "$TOOLS_DIR/go/toolchain.zip" -d "$TOOLS_DIR/go"
      rm "$TOOLS_DIR/go/toolchain.zip"
      # Module zips keep no file modes; go marks these executable when it installs a toolchain.
      chmod -R +x "$TOOLS_DIR/go/golang.org/toolchain@$toolchain/bin" "$TOOLS_DIR/go/golang.org/toolchain@$toolchain/pkg/tool"
    fi
  fi
  echo "install-deps: building logcli $LOKI_VERSION into $TOOLS_DIR/bin"
  work="$(mktemp -d)"
  export GOFLAGS=-mod=mod
  module_dir() { "$GO" mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
  cp -r "$(module_dir "github.com/grafana/loki/v3@$LOKI_VERSION")" "$work/loki"
  chmod -R u+w "$work/loki"
  push_version="$(sed -n 's/^[[:space:]]*github.com\/grafana\/loki\/pkg\/push \(v[^ ]*\).*/\1/p' "$work/loki/go.mod" | head -n 1)"
  mkdir -p "$work/loki/pkg/push" "$TOOLS_DIR/bin"
  cp -r "$(module_dir "github.com/grafana/loki/pkg/push@$push_version")/." "$work/loki/pkg/push/"
  (cd "$work/loki" && "$GO" build -o "$TOOLS_DIR/bin/logcli" ./cmd/logcli)
  chmod -R u+w "$work" && rm -rf "$work"
fi
