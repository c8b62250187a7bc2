# The upstreams every proxy forwards to, started once per run and shared by
# all rounds: one nginx (HTTP/1.1, h2c, a fixed gRPC endpoint) and a TCP
# sink for the L4 relay. Both share the load generator's core.
#
# Why a fixed gRPC endpoint in nginx rather than the grpcio greeter: a
# Python gRPC server tops out at a few thousand calls/s on one core, so every
# proxy would measure the greeter. nginx answers a real gRPC unary reply
# (length-prefixed HelloReply, content-type application/grpc, grpc-status in
# HTTP/2 trailers) at tens of thousands per second, so the proxy is the
# bottleneck. grpc_check.py proves with the real grpcio client that each
# proxy carries these calls correctly.

UP_H1=28080      # HTTP/1.1
UP_H2=28081      # h2c (prior knowledge) and the gRPC endpoint
UP_TCP=28090     # TCP sink for the L4 relay

# The one unary call of the gRPC workload: periscope.test.Greeter/SayHello
# (tests/grpc/greeter.proto), hand-encoded so no protoc is needed.
#   request  HelloRequest{name:"bench"}        = 0a 05 "bench"
#   reply    HelloReply{message:"Hello, bench!"} = 0a 0d "Hello, bench!"
# Each is framed by gRPC's 5-byte prefix: compressed flag 0, u32 length.
GRPC_PATH=/periscope.test.Greeter/SayHello
write_grpc_bodies() {
  local dir="$1"
  mkdir -p "$dir/html/periscope.test.Greeter"
  printf '\x00\x00\x00\x00\x07\x0a\x05bench' >"$dir/grpc-request.bin"
  printf '\x00\x00\x00\x00\x0f\x0a\x0dHello, bench!' >"$dir/html$GRPC_PATH"
}

start_upstream_nginx() {
  local dir="$BENCH_STATE/upstream-nginx"
  mkdir -p "$dir/logs" "$dir/tmp" "$dir/html/bytes"
  printf 'ok\n' >"$dir/html/index.txt"
  head -c 65536 /dev/zero | tr '\0' x >"$dir/html/bytes/64k"
  write_grpc_bodies "$dir"
  GRPC_REQUEST_BODY="$dir/grpc-request.bin"
  cat >"$dir/nginx.conf" <<EOF
# Bench upstream: one worker, no logs, connections kept alive for the whole
# run (keepalive_requests is also HTTP/2's per-connection request cap).
worker_processes 1;
worker_rlimit_nofile $NOFILE;
daemon off;
user root;
pid $dir/nginx.pid;
error_log $dir/logs/error.log error;
events { worker_connections $NGINX_CONNS; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  default_type text/plain;
  server {
    listen 127.0.0.1:$UP_H1;
    listen 127.0.0.1:$UP_H2 http2;
    root $dir/html;
    location = / { return 200 "ok\n"; }
    location /bytes/ { }
    # gRPC unary: nginx's static handler refuses POST with 405; error_page
    # turns that into an internal GET of the same file with status 200, so
    # the reply file is served, with grpc-status sent as an HTTP/2 trailer.
    # The mirror (to a location that does nothing) makes nginx read the
    # whole request body first: answering before it has arrived makes nginx
    # reset the stream, which grpc_pass proxies report as errors.
    location = $GRPC_PATH {
      default_type application/grpc;
      mirror /.mirror-sink;
      mirror_request_body on;
      error_page 405 =200 \$uri;
      add_trailer grpc-status 0 always;
      add_trailer grpc-message "" always;
    }
    location = /.mirror-sink { internal; return 204; }
  }
}
EOF
  spawn upstream-nginx PIN_LOAD nginx -p "$dir" -c "$dir/nginx.conf"
  UPSTREAM_NGINX_PID=$LAST_PID
  wait_port "$UP_H1" "$UPSTREAM_NGINX_PID" 10 || die "upstream nginx did not start (see $BENCH_STATE/logs/upstream-nginx.log)"
  wait_port "$UP_H2" "$UPSTREAM_NGINX_PID" 10 || die "upstream nginx h2c did not start"
}

start_upstream_sink() {
  spawn tcp-sink PIN_LOAD "$BENCH_PY" "$BENCH_DIR/tcp_blast.py" sink --port "$UP_TCP"
  UPSTREAM_SINK_PID=$LAST_PID
  wait_port "$UP_TCP" "$UPSTREAM_SINK_PID" 10 || die "tcp sink did not start (see $BENCH_STATE/logs/tcp-sink.log)"
}

# A quick look that each upstream endpoint answers as the workloads expect,
# so a broken upstream fails the run instead of benchmarking error pages.
check_upstreams() {
  local body
  body="$(curl -s --max-time 5 "http://127.0.0.1:$UP_H1/")" || die "upstream / failed"
  [ "$body" = ok ] || die "upstream / answered '$body'"
  [ "$(curl -s --max-time 5 "http://127.0.0.1:$UP_H1/bytes/64k" | wc -c)" = 65536 ] || die "upstream /bytes/64k is not 64 KiB"
  "$BENCH_PY" "$BENCH_DIR/grpc_check.py" "$UP_H2" || die "gRPC endpoint check failed on the upstream itself"
}

# upstream_ticks: CPU ticks of the upstreams, and of the kernel's softirq
# threads, which run the loopback traffic the benchmark makes: theirs is
# benchmark work, not "other".
KSOFTIRQD_PIDS=""
upstream_ticks() {
  local t=$(( $(cpu_ticks "$UPSTREAM_NGINX_PID") + $(cpu_ticks "$UPSTREAM_SINK_PID") )) p
  [ -n "$KSOFTIRQD_PIDS" ] || KSOFTIRQD_PIDS="$(grep -l '^ksoftirqd/' /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3 | xargs)"
  for p in $KSOFTIRQD_PIDS; do t=$((t + $(cpu_ticks "$p"))); done
  echo "$t"
}
