#!/usr/bin/env python3
"""One real grpcio unary call to the bench's gRPC endpoint, on 127.0.0.1:PORT.

    grpc_check.py PORT

Exits 0 when Greeter/SayHello answers OK with the expected reply, so the
gRPC workload is known to carry real gRPC calls (trailers included) through
each proxy before h2load measures it. Stubs come from tests/grpc/greeter.proto
at run time.
"""
import os
import sys

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "grpc"))
protos, services = grpc.protos_and_services("greeter.proto")


def main():
    port = int(sys.argv[1])
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        stub = services.GreeterStub(channel)
        reply = stub.SayHello(protos.HelloRequest(name="bench"), timeout=5)
    if reply.message != "Hello, bench!":
        print("grpc_check: unexpected reply %r" % reply.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print("grpc_check: port %s: %s %s" % (sys.argv[1], e.code(), e.details()), file=sys.stderr)
        sys.exit(1)
