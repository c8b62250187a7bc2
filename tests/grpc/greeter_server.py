#!/usr/bin/env python3
"""gRPC greeter for Periscope's tests (grpcio, h2c on loopback).

    greeter_server.py PORT

Prints "listening PORT" once serving. Stubs are built at run time from
greeter.proto beside this file (grpcio-tools), so nothing generated is kept.
"""
import os
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
protos, services = grpc.protos_and_services("greeter.proto")


def status_for(code):
    return next(s for s in grpc.StatusCode if s.value[0] == code)


class Greeter(services.GreeterServicer):
    def _prepare(self, request, context):
        if request.delay_ms:
            time.sleep(request.delay_ms / 1000.0)
        if request.fail_code:
            context.abort(status_for(request.fail_code), "failing as asked: %d" % request.fail_code)

    def SayHello(self, request, context):
        self._prepare(request, context)
        return protos.HelloReply(message="Hello, %s!" % request.name, pad=b"x" * request.pad_bytes)

    def SayHelloStream(self, request, context):
        self._prepare(request, context)
        for seq in range(request.count):
            yield protos.HelloReply(message="Hello #%d" % seq, seq=seq)

    def CollectHellos(self, requests, context):
        names = [r.name for r in requests]
        return protos.HelloReply(message="Hello, %s!" % ", ".join(names), seq=len(names))

    def Chat(self, requests, context):
        for seq, request in enumerate(requests):
            yield protos.HelloReply(message="echo " + request.name, seq=seq)


def main():
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    services.add_GreeterServicer_to_server(Greeter(), server)
    checker = health.HealthServicer()
    checker.set("periscope.test.Greeter", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("listening %d" % port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
