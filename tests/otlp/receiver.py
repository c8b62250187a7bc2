#!/usr/bin/env python3
"""The tests' OTLP trace receiver: a real OTLP/gRPC server (grpcio with the
generated TraceService from opentelemetry-proto) and an OTLP/HTTP protobuf
endpoint (POST /v1/traces), both on loopback.

    receiver.py --grpc-port P --http-port Q --out spans.jsonl

Every received span becomes one JSON line in --out (appended and flushed
per export, so a test can poll the file):
  {"via", "service", "resource", "scope", "name", "kind", "trace_id",
   "span_id", "parent_span_id", "start_ns", "end_ns", "status_code",
   "status_message", "attributes", "flags"}
Prints "ready" on stdout once both servers listen.
"""
import argparse
import json
import signal
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as pb_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

LOCK = threading.Lock()
KINDS = {v: k.replace("SPAN_KIND_", "") for k, v in trace_pb2.Span.SpanKind.items()}
STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def value(v):
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, which)


def attrs(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


def write(out_path, request, via):
    rows = []
    for rs in request.resource_spans:
        resource = attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                rows.append({
                    "via": via,
                    "service": resource.get("service.name"),
                    "resource": resource,
                    "scope": ss.scope.name,
                    "name": span.name,
                    "kind": KINDS.get(span.kind, str(span.kind)),
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "flags": span.flags,
                    "start_ns": span.start_time_unix_nano,
                    "end_ns": span.end_time_unix_nano,
                    "status_code": STATUS.get(span.status.code, str(span.status.code)),
                    "status_message": span.status.message,
                    "attributes": attrs(span.attributes),
                })
    with LOCK, open(out_path, "a", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, sort_keys=True) + "\n")


class TraceService(pb_grpc.TraceServiceServicer):
    def __init__(self, out_path):
        self.out_path = out_path

    def Export(self, request, context):
        write(self.out_path, request, "grpc")
        return pb.ExportTraceServiceResponse()


def http_handler(out_path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            if self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_error(415, "only application/x-protobuf")
                return
            request = pb.ExportTraceServiceRequest()
            request.ParseFromString(body)
            write(out_path, request, "http")
            reply = pb.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    open(args.out, "a").close()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_TraceServiceServicer_to_server(TraceService(args.out), server)
    if server.add_insecure_port("127.0.0.1:%d" % args.grpc_port) == 0:
        sys.exit("cannot bind gRPC port %d" % args.grpc_port)
    server.start()
    http = ThreadingHTTPServer(("127.0.0.1", args.http_port), http_handler(args.out))
    threading.Thread(target=http.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    http.shutdown()
    server.stop(0)


if __name__ == "__main__":
    main()
