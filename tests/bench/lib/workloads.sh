# The workloads. run_cell WORKLOAD PROXY ROUND starts the proxy in the
# workload's mode, warms it up, measures, stops it, and appends one JSON line
# to $RESULTS. Fresh proxy per cell: no proxy inherits another workload's
# pools or heap.
#
# Load shapes (closed loop unless said):
#   http1_small  wrk, 1 thread, 64 connections, GET / (3-byte body)
#   http1_64k    wrk, 1 thread, 64 connections, GET /bytes/64k
#   h2c          h2load, 16 connections x 16 concurrent streams, GET /;
#                h2c in, HTTP/1.1 to the upstream (direct: nginx's h2c port)
#   grpc         h2load, 16 x 16 streams, POST Greeter/SayHello with a real
#                gRPC body; h2c both ways (see upstream.sh for the endpoint)
#   latency      hey at a fixed 2,000 req/s (20 connections x 100/s), GET /:
#                p50/p90/p99 of a proxy that is NOT saturated
#   tcp_opaque   tcp_blast.py, 4 connections streaming the same MongoDB
#                bytes as tcp_mongo through a relay that does not parse
#                (Periscope: --no-sniff; Envoy: tcp_proxy alone)
#   tcp_mongo    tcp_blast.py, 4 connections streaming MongoDB OP_MSG bulk
#                inserts (Periscope parses every message; Envoy runs its
#                mongo_proxy filter)
#   idle_mem     idle_conns.py: $IDLE_CONNS keep-alive connections that made
#                one request each, RSS before and after -> KiB/connection
# Every cell also records the proxy's peak RSS while the load ran.

ALL_WORKLOADS=(http1_small http1_64k h2c grpc latency tcp_opaque tcp_mongo idle_mem)
WRK_CONNS=64
H2_CONNS=16
H2_STREAMS=16
LAT_CONNS=20
LAT_PER_CONN=100        # hey -q is per connection: 20 x 100 = 2,000 req/s
TCP_CONNS=4
IDLE_CONNS="${IDLE_CONNS:-5000}"
QUIET_WAIT="${QUIET_WAIT:-60}"  # max seconds to wait for a quiet machine per cell
MAX_OTHER="${MAX_OTHER:-0.15}"  # foreign cores above which a cell is measured again
NOISY_RETRIES="${NOISY_RETRIES:-2}"
GRPC_CHECKED=" "        # proxies whose gRPC path grpc_check.py has proved

# workload_spec W: sets MODE, UP_DIRECT (upstream port "direct" hits) and
# UP_PROXY (upstream port the proxies forward to).
workload_spec() {
  case "$1" in
    http1_small|http1_64k|latency|idle_mem) MODE=http1; UP_DIRECT=$UP_H1; UP_PROXY=$UP_H1 ;;
    h2c) MODE=h2c; UP_DIRECT=$UP_H2; UP_PROXY=$UP_H1 ;;
    grpc) MODE=grpc; UP_DIRECT=$UP_H2; UP_PROXY=$UP_H2 ;;
    tcp_opaque) MODE=tcp; UP_DIRECT=$UP_TCP; UP_PROXY=$UP_TCP ;;
    tcp_mongo) MODE=mongo; UP_DIRECT=$UP_TCP; UP_PROXY=$UP_TCP ;;
    *) die "unknown workload '$1' (known: ${ALL_WORKLOADS[*]})" ;;
  esac
}

# bounded LOADGEN...: the load generator on its core, killed if it overruns.
bounded() { timeout -k 5 "$((DURATION + 60))" "${PIN_LOAD[@]}" "$@"; }

# measure W PORT SECONDS: runs the workload's load for SECONDS against PORT
# and echoes a JSON object of its numbers.
measure() {
  local w="$1" port="$2" secs="$3" out url="http://127.0.0.1:$2"
  local log="$BENCH_STATE/logs/load.out"
  case "$w" in
    http1_small|http1_64k)
      [ "$w" = http1_64k ] && url="$url/bytes/64k" || url="$url/"
      bounded wrk -t1 -c"$WRK_CONNS" -d"${secs}s" --latency "$url" >"$log" 2>&1 || die "wrk failed: $(tail -5 "$log")"
      python3 "$BENCH_DIR/lib/parse_load.py" wrk <"$log" ;;
    h2c)
      bounded h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D"$secs" "$url/" >"$log" 2>&1 || die "h2load failed: $(tail -5 "$log")"
      python3 "$BENCH_DIR/lib/parse_load.py" h2load <"$log" ;;
    grpc)
      bounded h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D"$secs" -d "$GRPC_REQUEST_BODY" \
        -H 'content-type: application/grpc' -H 'te: trailers' "$url$GRPC_PATH" >"$log" 2>&1 ||
        die "h2load (grpc) failed: $(tail -5 "$log")"
      python3 "$BENCH_DIR/lib/parse_load.py" h2load <"$log" ;;
    latency)
      bounded hey -z "${secs}s" -c "$LAT_CONNS" -q "$LAT_PER_CONN" "$url/" >"$log" 2>&1 || die "hey failed: $(tail -5 "$log")"
      python3 "$BENCH_DIR/lib/parse_load.py" hey <"$log" ;;
    tcp_opaque|tcp_mongo)
      # Both send MongoDB bytes: the two cells differ only in sniffing.
      bounded "$BENCH_PY" "$BENCH_DIR/tcp_blast.py" send --port "$port" --mode mongo \
        --seconds "$secs" --conns "$TCP_CONNS" 2>"$log" || die "tcp_blast failed: $(tail -5 "$log")" ;;
    *) die "measure: no load for $w" ;;
  esac
}

# Periscope only: how many MongoDB messages its tap parsed on this run, to
# show that tcp_mongo really sniffed and tcp_opaque really did not.
periscope_sniffed() {
  curl -s --max-time 5 "http://127.0.0.1:$PROXY_ADMIN/metrics" |
    awk '/^periscope_mongodb_messages_total/ {n += $NF} END {printf "%d", n}'
}

# idle_mem PROXY PORT: sets IDLE_FIELDS (not echoed: it runs in the main
# shell so the client it spawns is in BENCH_PIDS and cleaned up on failure).
idle_mem() {
  local proxy="$1" port="$2" before after out open failed pid
  for _ in $(seq 20); do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/" || true; done
  sleep 0.5
  before="$(rss_kib "$PROXY_PID")"
  spawn idle-conns PIN_LOAD "$BENCH_PY" "$BENCH_DIR/idle_conns.py" "$port" "$IDLE_CONNS" --hold 120
  pid=$LAST_PID
  local i
  for i in $(seq 1200); do
    grep -q '^ready' "$BENCH_STATE/logs/idle-conns.log" && break
    kill -0 "$pid" 2>/dev/null || die "idle_conns.py died: $(tail -5 "$BENCH_STATE/logs/idle-conns.log")"
    sleep 0.1
  done
  read -r _ open failed < <(grep '^ready' "$BENCH_STATE/logs/idle-conns.log") || die "idle_conns.py never got ready"
  sleep 1   # let the proxy settle (allocations after the last response)
  after="$(rss_kib "$PROXY_PID")"
  stop "$pid"
  [ "$failed" -eq 0 ] || log "WARNING: $proxy: $failed of $IDLE_CONNS idle connections failed"
  IDLE_FIELDS="$(python3 -c 'import json,sys; b,a,n,f=map(int,sys.argv[1:]); print(json.dumps({"rss_before_kib":b,"rss_after_kib":a,"conns":n,"errors":f,"kib_per_conn":round((a-b)/max(n,1),2)}))' \
    "$before" "$after" "$open" "$failed")"
}

# run_cell W PROXY ROUND: one measurement, appended to $RESULTS. On a shared
# machine a cell during which other processes used more than $MAX_OTHER
# cores is measured again, up to $NOISY_RETRIES more times; the cleanest
# attempt (least foreign CPU) is kept, the others go to results-noisy.jsonl.
# Its other_cpu tells the report how clean it was.
run_cell() {
  local w="$1" proxy="$2" round="$3" attempt best="" best_other=""
  [ "$proxy" = direct ] && [ "$w" = idle_mem ] && return 0   # no proxy, nothing to weigh
  for attempt in $(seq 0 "$NOISY_RETRIES"); do
    wait_quiet "$QUIET_WAIT"
    attempt_cell "$w" "$proxy" "$round"
    if [ -z "$best" ] || awk -v o="${CELL_OTHER:-0}" -v b="$best_other" 'BEGIN { exit !(o < b) }'; then
      [ -z "$best" ] || echo "$best" >>"${RESULTS%.jsonl}-noisy.jsonl"
      best="$CELL_RECORD"; best_other="${CELL_OTHER:-0}"
    else
      echo "$CELL_RECORD" >>"${RESULTS%.jsonl}-noisy.jsonl"
    fi
    awk -v o="$best_other" -v m="$MAX_OTHER" 'BEGIN { exit !(o > m) }' || break
    [ "$attempt" -eq "$NOISY_RETRIES" ] ||
      log "noisy: others used $CELL_OTHER cores during $w/$proxy; measuring again"
  done
  echo "$best" >>"$RESULTS"
  log "$best"
}

# attempt_cell W PROXY ROUND: sets CELL_RECORD (a JSON line) and CELL_OTHER.
attempt_cell() {
  local w="$1" proxy="$2" round="$3" up fields peak="" cpu="" other="" extra="{}"
  workload_spec "$w"
  if [ "$proxy" = direct ]; then up=$UP_DIRECT; else up=$UP_PROXY; fi
  start_proxy "$proxy" "$MODE" "$up"
  if [ "$w" = grpc ] && [[ "$GRPC_CHECKED" != *" $proxy "* ]]; then
    "$BENCH_PY" "$BENCH_DIR/grpc_check.py" "$TARGET_PORT" || die "$proxy does not carry a real gRPC call (grpc_check.py)"
    GRPC_CHECKED+="$proxy "
  fi
  if [ "$w" = idle_mem ]; then
    idle_mem "$proxy" "$TARGET_PORT"
    fields="$IDLE_FIELDS"
  else
    measure "$w" "$TARGET_PORT" 1 >/dev/null     # warm-up: pools, caches, page faults
    local p0=0 p1=0 u0 u1 o0 o1 b0 b1 t0 t1
    [ -z "$PROXY_PID" ] || rss_sampler_start "$PROXY_PID"
    [ -z "$PROXY_PID" ] || p0="$(cpu_ticks "$PROXY_PID")"
    u0="$(upstream_ticks)"; o0="$(own_ticks)"; b0="$(busy_ticks)"; t0="$(date +%s.%N)"
    fields="$(measure "$w" "$TARGET_PORT" "$DURATION")"
    [ -z "$PROXY_PID" ] || peak="$(rss_sampler_stop)"
    [ -z "$PROXY_PID" ] || p1="$(cpu_ticks "$PROXY_PID")"
    u1="$(upstream_ticks)"; o1="$(own_ticks)"; b1="$(busy_ticks)"; t1="$(date +%s.%N)"
    read -r cpu other < <(awk -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
      -v hz="$(getconf CLK_TCK)" -v p=$((p1 - p0)) -v o=$((o1 - o0 + u1 - u0)) -v b=$((b1 - b0)) \
      'BEGIN { printf "%.3f %.3f\n", p / hz / t, (b - p - o) / hz / t }')
    [ -n "$PROXY_PID" ] || cpu=""
    if [ "$proxy" = periscope ] && [[ "$w" == tcp_* ]]; then
      extra="{\"mongodb_messages_parsed\": $(periscope_sniffed)}"
    fi
  fi
  stop_proxy
  CELL_OTHER="$other"
  CELL_RECORD="$(python3 - "$w" "$proxy" "$round" "$fields" "${peak:-0}" "$extra" "$(cut -d' ' -f1 /proc/loadavg)" "$cpu" "$other" <<'EOF'
import json, sys
w, proxy, rnd, fields, peak, extra, load1, cpu, other = sys.argv[1:]
rec = {"workload": w, "proxy": proxy, "round": int(rnd)}
rec.update(json.loads(fields))
rec.update(json.loads(extra))
if int(peak):
    rec["rss_peak_kib"] = int(peak)
if cpu:
    rec["proxy_cpu"] = float(cpu)  # cores the proxy used while measured
if other:
    rec["other_cpu"] = max(0.0, float(other))  # cores used by anything not ours
rec["load1"] = float(load1)
print(json.dumps(rec))
EOF
)"
}
