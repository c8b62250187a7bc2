# What a proxy uses, read from /proc (no tools needed): memory and CPU.
#
#   rss_kib PID           VmRSS of PID plus its direct children (nginx's
#                         master + worker; the others are one process)
#   rss_sampler_start PID samples every 0.2 s in the background, keeps the max
#   rss_sampler_stop      echoes the peak in KiB (empty if nothing sampled)
#   cpu_ticks PID         user+system clock ticks of PID and its children
#   busy_ticks            non-idle ticks of all cores (/proc/stat)
#   own_ticks             ticks of this shell and every child it has reaped
#                         (load generators run as its children)
#   wait_quiet SECS       waits up to SECS for both cores to be idle
#
# The machine may be shared (other builds, fuzzers). Each cell records how
# many cores something other than the benchmark used while it ran:
#   other = (busy - own - proxy - upstreams) / HZ / seconds
# and run.sh waits for a quiet machine before each cell.
#
# CPU is the run's honesty check: a proxy that saturates its core shows
# ~1.0 cores over a closed-loop cell. Much less means the load generator
# was the limit, or something else on the machine took the proxy's core.

proc_tree() {
  echo "$1"
  cat /proc/"$1"/task/*/children 2>/dev/null || true
}

cpu_ticks() {
  local total=0 p t
  for p in $(proc_tree "$1"); do
    # Fields 14 and 15 of /proc/PID/stat (after the parenthesised name).
    t="$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null | awk '{print $12 + $13}')"
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

rss_kib() {
  local pid="$1" total=0 p kb
  for p in $(proc_tree "$pid"); do
    kb="$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null || true)"
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

RSS_SAMPLER_PID=""
RSS_PEAK_FILE=""
rss_sampler_start() {
  local pid="$1"
  RSS_PEAK_FILE="$BENCH_STATE/rss-peak"
  echo 0 >"$RSS_PEAK_FILE"
  (
    peak=0
    while kill -0 "$pid" 2>/dev/null; do
      now="$(rss_kib "$pid")"
      if [ "$now" -gt "$peak" ]; then peak=$now; echo "$peak" >"$RSS_PEAK_FILE"; fi
      sleep 0.2
    done
  ) &
  RSS_SAMPLER_PID=$!
  BENCH_PIDS+=("$RSS_SAMPLER_PID")
}

rss_sampler_stop() {
  [ -n "$RSS_SAMPLER_PID" ] || return 0
  stop "$RSS_SAMPLER_PID"
  RSS_SAMPLER_PID=""
  cat "$RSS_PEAK_FILE"
}

busy_ticks() {
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}

own_ticks() {
  # utime stime cutime cstime of this shell ($$ is the main shell even in a
  # subshell): children are counted once they have been waited for.
  sed 's/^.*) //' /proc/$$/stat | awk '{print $12 + $13 + $14 + $15}'
}

# wait_quiet SECS: returns once the whole machine used under 0.15 cores for
# half a second (the benchmark itself is idle between cells), or after SECS
# with a warning. Echoes nothing.
wait_quiet() {
  local deadline=$(( $(date +%s) + $1 )) b0 b1 hz
  hz="$(getconf CLK_TCK)"
  while :; do
    b0="$(busy_ticks)"; sleep 0.5; b1="$(busy_ticks)"
    [ $((b1 - b0)) -le $((hz * 15 / 200)) ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "machine still busy after $1 s ($(( (b1 - b0) * 200 / hz ))% of a core used by others); measuring anyway"
      return 0
    fi
  done
}
