# Resident memory of a proxy, read from /proc (no tools needed).
#
#   rss_kib PID           VmRSS of PID plus its direct children (nginx's
#                         master + worker; the others are one process)
#   rss_sampler_start PID samples every 0.2 s in the background, keeps the max
#   rss_sampler_stop      echoes the peak in KiB (empty if nothing sampled)

rss_kib() {
  local pid="$1" total=0 p kb
  for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
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
