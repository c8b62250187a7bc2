# Starts one proxy under test, with ONE worker thread, pinned to the proxy
# core, listening on 127.0.0.1:$PROXY_PORT.
#
#   start_proxy KIND MODE UPSTREAM_PORT   sets PROXY_PID and TARGET_PORT
#   stop_proxy
#
# KIND  direct (no proxy: TARGET_PORT is the upstream), periscope, haproxy,
#       nginx, envoy
# MODE  http1  HTTP/1.1 in, HTTP/1.1 keep-alive to the upstream
#       h2c    h2c (prior knowledge) in, HTTP/1.1 to the upstream
#       grpc   h2c in, h2c to the upstream
#       tcp    plain TCP relay
#       mongo  TCP relay with the proxy's MongoDB sniffing, where it has
#              one: Periscope always sniffs on tcp listeners, Envoy adds its
#              mongo_proxy filter, HAProxy and nginx relay as for tcp.
# Every config is written for this run under $BENCH_STATE/proxies/. Each is
# tuned the way a user wanting throughput would: upstream keep-alive, no
# access logs, buffers sized for the responses, limits
# high enough for the 5,000-connection idle test.

# set_limits: connection limits that follow the open-file limit run.sh set
# (at least 12,000). HAProxy needs two descriptors per proxied connection,
# nginx counts client and upstream connections in worker_connections.
set_limits() {
  NOFILE="$(ulimit -n)"
  HAPROXY_MAXCONN=$(( (NOFILE - 200) / 2 ))
  NGINX_CONNS=$(( NOFILE - 200 ))
}

PROXY_PORT=28100
PROXY_ADMIN=28101
PROXY_PID=""

start_proxy() {
  local kind="$1" mode="$2" up="$3"
  local dir="$BENCH_STATE/proxies/$kind-$mode"
  mkdir -p "$dir/logs" "$dir/tmp"
  PROXY_PID=""
  if [ "$kind" = direct ]; then
    TARGET_PORT="$up"
    return 0
  fi
  port_free "$PROXY_PORT" || die "port $PROXY_PORT is busy before starting $kind"
  TARGET_PORT="$PROXY_PORT"
  case "$kind" in
    periscope) start_periscope "$mode" "$up" ;;
    haproxy) write_haproxy "$dir" "$mode" "$up"
      spawn "$kind-$mode" PIN_PROXY haproxy -db -f "$dir/haproxy.cfg" ;;
    nginx) write_nginx "$dir" "$mode" "$up"
      spawn "$kind-$mode" PIN_PROXY nginx -p "$dir" -c "$dir/nginx.conf" ;;
    envoy) write_envoy "$dir" "$mode" "$up"
      spawn "$kind-$mode" PIN_PROXY "$ENVOY_BIN" -c "$dir/envoy.yaml" --concurrency 1 \
        --disable-hot-restart --log-level warn ;;
    *) die "unknown proxy '$kind'" ;;
  esac
  PROXY_PID=$LAST_PID
  wait_port "$PROXY_PORT" "$PROXY_PID" 20 ||
    die "$kind ($mode) did not listen on $PROXY_PORT; log: $BENCH_STATE/logs/$kind-$mode.log"
}

stop_proxy() {
  [ -z "$PROXY_PID" ] || stop "$PROXY_PID"
  PROXY_PID=""
  # A proxy's children (nginx's worker) leave with the master; make sure the
  # port is really free before the next proxy binds it.
  local i
  for i in $(seq 50); do port_free "$PROXY_PORT" && return 0; sleep 0.1; done
  die "port $PROXY_PORT still busy after stopping the proxy"
}

start_periscope() {
  local mode="$1" up="$2" args=()
  case "$mode" in
    http1|h2c) args=(--protocol http --upstream-protocol http1) ;;
    grpc) args=(--protocol http --upstream-protocol h2c) ;;
    tcp) args=(--protocol tcp --no-sniff) ;;
    mongo) args=(--protocol tcp) ;;
    *) die "periscope: bad mode $mode" ;;
  esac
  # RUST_LOG=warn: info logs per connection would be I/O no other proxy does.
  RUST_LOG=warn spawn "periscope-$mode" PIN_PROXY "$PERISCOPE_BIN" --workers 1 \
    --listen "127.0.0.1:$PROXY_PORT" --upstream "127.0.0.1:$up" \
    --admin "127.0.0.1:$PROXY_ADMIN" "${args[@]}"
}

write_haproxy() {
  local dir="$1" mode="$2" up="$3" bind="" server="server s1 127.0.0.1:$up" pmode=http
  case "$mode" in
    http1) bind="bind 127.0.0.1:$PROXY_PORT" ;;
    h2c) bind="bind 127.0.0.1:$PROXY_PORT proto h2" ;;
    grpc) bind="bind 127.0.0.1:$PROXY_PORT proto h2"; server="$server proto h2" ;;
    tcp|mongo) bind="bind 127.0.0.1:$PROXY_PORT"; pmode=tcp ;;
    *) die "haproxy: bad mode $mode" ;;
  esac
  cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn $HAPROXY_MAXCONN
defaults
  mode $pmode
  maxconn $HAPROXY_MAXCONN
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend fe
  $bind
  default_backend be
backend be
  $( [ "$pmode" = http ] && echo "http-reuse always" )
  $server
EOF
}

write_nginx() {
  local dir="$1" mode="$2" up="$3" top="" body=""
  # Buffers that hold a whole 64 KiB response in memory: with the defaults
  # (8 x 4k) nginx spills it to a temp file; with buffering off it relays
  # it in 4 KiB writes at a fifth of the speed.
  local http_proxy="proxy_pass http://up; proxy_http_version 1.1;
      proxy_set_header Connection \"\"; proxy_buffers 16 8k; proxy_busy_buffers_size 64k;"
  case "$mode" in
    http1) body="server { listen 127.0.0.1:$PROXY_PORT; location / { $http_proxy } }" ;;
    h2c) body="server { listen 127.0.0.1:$PROXY_PORT http2; location / { $http_proxy } }" ;;
    grpc) body="server { listen 127.0.0.1:$PROXY_PORT http2; location / { grpc_pass grpc://up; } }" ;;
    tcp|mongo) top="load_module $NGX_STREAM_MODULE;" ;;
    *) die "nginx: bad mode $mode" ;;
  esac
  if [ -n "$top" ]; then
    body="stream { server { listen 127.0.0.1:$PROXY_PORT; proxy_pass 127.0.0.1:$up; } }"
  else
    body="http {
  access_log off;
  client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi; uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 10000000; keepalive_timeout 300s;
  upstream up { server 127.0.0.1:$up; keepalive 128; keepalive_requests 10000000; }
  $body
}"
  fi
  cat >"$dir/nginx.conf" <<EOF
$top
worker_processes 1;
worker_rlimit_nofile $NOFILE;
daemon off;
user root;
pid $dir/nginx.pid;
error_log $dir/logs/error.log error;
events { worker_connections $NGINX_CONNS; }
$body
EOF
}

write_envoy() {
  local dir="$1" mode="$2" up="$3" filters="" cluster_opts=""
  local hcm='
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          codec_type: AUTO
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: "/"}, route: {cluster: up, timeout: 0s}}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}'
  local tcp='
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: bench
          cluster: up'
  case "$mode" in
    http1|h2c) filters="$hcm" ;;
    grpc) filters="$hcm"
      cluster_opts='
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}' ;;
    tcp) filters="$tcp" ;;
    mongo) filters='
      - name: envoy.filters.network.mongo_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy
          stat_prefix: bench'"$tcp" ;;
    *) die "envoy: bad mode $mode" ;;
  esac
  # Circuit breakers raised: Envoy's defaults (1024 connections/requests per
  # cluster) would cap the idle test, not measure it.
  cat >"$dir/envoy.yaml" <<EOF
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: $PROXY_ADMIN}}
static_resources:
  listeners:
  - name: bench
    address: {socket_address: {address: 127.0.0.1, port_value: $PROXY_PORT}}
    filter_chains:
    - filters:$filters
  clusters:
  - name: up
    type: STATIC
    connect_timeout: 5s$cluster_opts
    circuit_breakers:
      thresholds:
      - {max_connections: 100000, max_pending_requests: 100000, max_requests: 100000}
    load_assignment:
      cluster_name: up
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $up}}}
EOF
}
