#!/usr/bin/env python3
"""Scripted gRPC calls against the test greeter; prints a JSON account of
what the client saw, so tests can hold Periscope's telemetry against it.

    greeter_client.py TARGET SCENARIO

Scenarios: shapes (every call shape, an error, a 1 MiB reply, gzip, a
           grpc.health.v1 check),
           one (a single unary call), slow (a call answered after 2 s).
Output: {"calls": [{"method": "...", "code": "OK", "sent": n, "received": n}]}
"""
import json
import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
protos, services = grpc.protos_and_services("greeter.proto")
SERVICE = "periscope.test.Greeter"


def main():
    target, scenario = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(target)
    stub = services.GreeterStub(channel)
    calls = []

    def record(method, call, sent):
        try:
            received = call()
            calls.append({"method": SERVICE + "/" + method, "code": "OK",
                          "sent": sent, "received": received})
        except grpc.RpcError as err:
            calls.append({"method": SERVICE + "/" + method, "code": err.code().name,
                          "sent": sent, "received": 0, "details": err.details()})

    hello = protos.HelloRequest
    if scenario == "shapes":
        for name in ("a", "b", "c"):
            record("SayHello", lambda: (stub.SayHello(hello(name=name)), 1)[1], 1)
        record("SayHelloStream",
               lambda: len(list(stub.SayHelloStream(hello(name="s", count=4)))), 1)
        record("CollectHellos",
               lambda: (stub.CollectHellos(iter([hello(name=str(i)) for i in range(5)])), 1)[1], 5)
        record("Chat", lambda: len(list(stub.Chat(iter([hello(name=str(i)) for i in range(3)])))), 3)
        record("SayHello", lambda: (stub.SayHello(hello(name="x", fail_code=5)), 1)[1], 1)
        record("SayHello", lambda: len(stub.SayHello(hello(name="big", pad_bytes=1 << 20)).pad) and 1, 1)
        record("SayHello", lambda: (stub.SayHello(hello(name="gz"),
                                                  compression=grpc.Compression.Gzip), 1)[1], 1)
        checker = health_pb2_grpc.HealthStub(channel)

        def check():
            reply = checker.Check(health_pb2.HealthCheckRequest(service=SERVICE))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, reply
            return 1

        try:
            check()
            calls.append({"method": "grpc.health.v1.Health/Check", "code": "OK", "sent": 1, "received": 1})
        except grpc.RpcError as err:
            calls.append({"method": "grpc.health.v1.Health/Check", "code": err.code().name,
                          "sent": 1, "received": 0})
    elif scenario == "one":
        record("SayHello", lambda: (stub.SayHello(hello(name="one"), timeout=10), 1)[1], 1)
    elif scenario == "slow":
        record("SayHello", lambda: (stub.SayHello(hello(name="slow", delay_ms=2000), timeout=10), 1)[1], 1)
    else:
        raise SystemExit("unknown scenario " + scenario)
    print(json.dumps({"calls": calls}))


if __name__ == "__main__":
    main()
