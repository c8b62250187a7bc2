#!/usr/bin/env bash
# Installs the real peers the integration tests drive. Idempotent: when
# everything is present it only checks and exits (well under a second).
#
#   bash tests/install-peers.sh
#
# Three sections, each a list that later tests extend:
#   APT_PKGS   Debian packages (nginx, curl, h2load/nghttp, promtool, ...)
#   PIP_REQS   Python peers and clients, in a venv at .runtime/venv
#              (git-ignored): pymongo (client) and nx-27017 (MongoDB wire
#              server on SQLite) for tests/mongodb*.rs; grpcio and
#              grpcio-tools for the gRPC greeter of tests/grpc*.rs; boto3,
#              the aws CLI and moto (DynamoDB server) for tests/dynamodb*.rs;
#              websockets (echo server and client) for tests/websocket.rs
#   NPM_PKGS   Node peers, in .runtime/node (git-ignored): mongosh, dynalite
#   cargo-fuzz only when fuzz/run-all.sh exists (the fuzz smoke run needs it)
# Runs as root (CI and dev machines are root); otherwise uses sudo.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNTIME="${PERISCOPE_RUNTIME:-$ROOT/.runtime}"
VENV="$RUNTIME/venv"
t0=$(date +%s)
log() { echo "[install-peers $(( $(date +%s) - t0 ))s] $*" >&2; }

# Binary each package must provide, so a package that is "installed" but
# broken is noticed. Format: package:binary
APT_PKGS=(
  nginx:nginx              # HTTP/1.1 + h2c upstream
  curl:curl                # HTTP/1.1 and h2c (prior knowledge) client
  nghttp2-client:h2load    # h2load, nghttp: multiplexed h2c load
  prometheus:promtool      # promtool check metrics
  valgrind:valgrind        # callgrind: parser instruction counts (tests/parser_instructions.sh)
  openssl:openssl          # test CAs and certificates for TLS upstreams (tests/upstream_tls.rs)
  libnginx-mod-stream:nginx  # nginx as a TLS terminator in front of TCP peers (tests/upstream_tls_relay.rs)
)

# Python peers, pinned, e.g. "pymongo==4.20.0" "boto3" "grpcio==1.85.1".
PIP_REQS=(
  "pymongo[snappy,zstd]==4.20.0"   # MongoDB client; extras = OP_COMPRESSED codecs
  "nx-27017==0.8.1"                # MongoDB wire server backed by SQLite
  "grpcio==1.85.1"                 # gRPC server and client for tests/grpc*.rs
  "grpcio-tools==1.85.1"           # builds the greeter's stubs at run time
  "grpcio-health-checking==1.85.1" # grpc.health.v1 on the greeter
  "opentelemetry-proto==1.45.2"    # OTLP messages and services: tests/otlp/receiver.py
  "boto3==1.44.5"                  # DynamoDB client for tests/dynamodb*.rs
  "awscli==1.46.3"                 # the aws CLI, a second DynamoDB client (same botocore)
  "moto[server]==5.2.5"            # DynamoDB server with the full API (Transact*)
  "websockets==17.4"               # WebSocket server and client for tests/websocket.rs
)

# Node packages, pinned, installed with npm into .runtime/node.
NPM_PKGS=(
  "mongosh@2.12.0"                 # the MongoDB shell, a second real client
  "dynalite@4.0.0"                 # DynamoDB server (keep-alive, LevelDB in memory)
)
NODE_DIR="$RUNTIME/node"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-peers: need root or sudo" >&2; exit 1; }
  SUDO="sudo"
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
on_path() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null; }

install_apt() {
  local missing=() entry pkg bin
  for entry in "${APT_PKGS[@]}"; do
    pkg="${entry%%:*}"; bin="${entry#*:}"
    if ! installed "$pkg" || ! on_path "$bin"; then missing+=("$pkg"); fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt: all present"
    return
  fi
  log "apt: installing ${missing[*]}"
  # Debian's postinst would start nginx/prometheus as services (grabbing :80
  # and :9090); tests start their own on loopback ports instead. A
  # policy-rc.d that exits 101 forbids service starts during the install.
  local made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  for entry in "${APT_PKGS[@]}"; do
    on_path "${entry#*:}" || { echo "install-peers: ${entry%%:*} gave no ${entry#*:}" >&2; exit 1; }
  done
}

install_pip() {
  if [ ${#PIP_REQS[@]} -eq 0 ]; then
    return
  fi
  local stamp="$VENV/.peers-reqs" reqs
  reqs="$(printf '%s\n' "${PIP_REQS[@]}")"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$reqs" ]; then
    log "pip: venv up to date"
    return
  fi
  log "pip: installing into $VENV"
  mkdir -p "$RUNTIME"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q "${PIP_REQS[@]}"
  printf '%s' "$reqs" >"$stamp"
}

install_npm() {
  if [ ${#NPM_PKGS[@]} -eq 0 ]; then
    return
  fi
  local stamp="$NODE_DIR/.peers-pkgs" pkgs
  pkgs="$(printf '%s\n' "${NPM_PKGS[@]}")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkgs" ]; then
    log "npm: node_modules up to date"
    return
  fi
  command -v npm >/dev/null || { echo "install-peers: npm not found (apt install npm)" >&2; exit 1; }
  log "npm: installing ${NPM_PKGS[*]} into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{ "name": "periscope-test-peers", "private": true }' >"$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PKGS[@]}" >/dev/null)
  printf '%s' "$pkgs" >"$stamp"
}

install_cargo_fuzz() {
  if [ ! -e "$ROOT/fuzz/run-all.sh" ]; then
    return
  fi
  if cargo fuzz --version >/dev/null 2>&1; then
    log "cargo-fuzz: present"
    return
  fi
  log "cargo-fuzz: installing (cargo install --locked cargo-fuzz)"
  cargo install --locked cargo-fuzz
}

install_apt
install_pip
install_npm
install_cargo_fuzz
log "done"
