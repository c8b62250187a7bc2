# Shared helpers for the benchmark harness: logging, failing loudly, process
# bookkeeping and CPU pinning. Sourced by run.sh; defines no globals beyond
# the ones documented here.
#
#   BENCH_ROOT   repository root
#   BENCH_STATE  .state/bench/<run id>: generated configs, logs, raw results
#   BENCH_PIDS   PIDs this run started, killed (by PID, never by name) on exit

BENCH_PIDS=()

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }

# need CMD...: a missing tool is an error, never a silently skipped workload.
need() {
  local c
  for c in "$@"; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$c" >/dev/null || die "required tool '$c' not found (run without --no-install, or install it)"
  done
}

# Pinning. With two or more cores the proxy gets core 0 to itself and the
# load generator and upstreams share core 1, so every proxy is measured on
# the same single core. Without taskset (or on one core) nothing is pinned
# and the table says so.
PIN_PROXY=()
PIN_LOAD=()
setup_pinning() {
  local cores
  cores="$(nproc)"
  if command -v taskset >/dev/null && [ "$cores" -ge 2 ]; then
    PIN_PROXY=(taskset -c 0)
    PIN_LOAD=(taskset -c 1)
    PINNING="proxy=cpu0 load+upstream=cpu1 (of $cores cores)"
  else
    PINNING="none (taskset missing or 1 core)"
  fi
}

# spawn NAME PINNING-ARRAY-NAME CMD...: start CMD in the background, output
# to $BENCH_STATE/logs/NAME.log, remember its PID in BENCH_PIDS and in the
# global LAST_PID. `exec` inside the subshell keeps the PID the program's own
# (so RSS and kill address the real process, not a wrapper shell).
spawn() {
  local name="$1" pinvar="$2"; shift 2
  local -n pin="$pinvar"
  mkdir -p "$BENCH_STATE/logs"
  ( exec "${pin[@]}" "$@" ) >"$BENCH_STATE/logs/$name.log" 2>&1 &
  LAST_PID=$!
  BENCH_PIDS+=("$LAST_PID")
}

# stop PID: TERM, then KILL after 3 s; reaps it. Only our own PIDs are ever
# passed here.
stop() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local kept=() p
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  BENCH_PIDS=("${kept[@]+"${kept[@]}"}")
}

cleanup() {
  local p
  for p in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  sleep 0.3
  for p in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  BENCH_PIDS=()
}

# port_free PORT / wait_port PORT PID SECONDS: loopback only.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { ! port_open "$1"; }
wait_port() {
  local port="$1" pid="$2" secs="$3" i
  for i in $(seq $((secs * 20))); do
    port_open "$port" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
