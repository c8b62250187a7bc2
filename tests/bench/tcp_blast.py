#!/usr/bin/env python3
"""Raw TCP throughput for the L4 relay workloads.

    tcp_blast.py sink --port PORT
    tcp_blast.py send --port PORT --mode opaque|mongo --seconds S [--conns N]

sink   accepts on 127.0.0.1:PORT and reads and discards everything, one
       thread per connection (recv releases the GIL, so it keeps up).
send   streams one prebuilt 1 MiB buffer in a loop on N connections for S
       seconds and prints one JSON line: bytes, seconds, mib_s.

Modes (same byte count, different content):
  opaque  zero bytes. A Periscope tcp listener's detector classifies them
          as unknown, turns its tap off and only relays: sniffing OFF.
  mongo   back-to-back MongoDB OP_MSG bulk inserts (100 documents of ~130
          bytes each, ~14 KiB per message) with moreToCome set, as a driver
          sends unacknowledged (w:0) writes, so no replies are expected and
          the stream is one-way like the opaque one. Periscope detects
          MongoDB and parses every message: sniffing ON.
The sender counts bytes accepted by its socket; what is still in kernel
buffers at the end (a few MiB) is noise against the GiB moved.
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time

CHUNK = 1 << 20


def sink(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(256)

    def drain(conn):
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        with conn:
            try:
                while conn.recv_into(view):
                    pass
            except OSError:
                pass

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def op_msg(request_id):
    # Imported here so the sink runs without pymongo.
    import bson

    body = bson.encode({"insert": "bench", "$db": "bench", "ordered": False,
                        "writeConcern": {"w": 0}})
    docs = b"".join(
        bson.encode({"_id": i, "name": "user-%06d" % i, "email": "user%d@example.com" % i,
                     "tags": ["a", "b", "c"], "score": i * 0.5, "note": "x" * 32})
        for i in range(100))
    ident = b"documents\x00"
    seq = struct.pack("<i", 4 + len(ident) + len(docs)) + ident + docs
    flags = struct.pack("<I", 1 << 1)  # moreToCome: the server sends no reply
    payload = flags + b"\x00" + body + b"\x01" + seq
    return struct.pack("<iiii", 16 + len(payload), request_id, 0, 2013) + payload


def build_buffer(mode):
    if mode == "opaque":
        return bytes(CHUNK)
    out = bytearray()
    rid = 1
    while len(out) < CHUNK:
        out += op_msg(rid)
        rid += 1
    return bytes(out)  # whole messages only, so the loop stays framed


def send(port, mode, seconds, conns):
    buf = build_buffer(mode)
    totals = [0] * conns
    errors = []
    deadline = time.monotonic() + seconds

    def pump(i):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                while time.monotonic() < deadline:
                    s.sendall(buf)
                    totals[i] += len(buf)
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(str(e))

    start = time.monotonic()
    threads = [threading.Thread(target=pump, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 20)
    elapsed = time.monotonic() - start
    total = sum(totals)
    print(json.dumps({"bytes": total, "seconds": round(elapsed, 3),
                      "mib_s": round(total / elapsed / (1 << 20), 1), "errors": len(errors)}))
    if errors:
        print("tcp_blast: %d connection errors, first: %s" % (len(errors), errors[0]), file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["sink", "send"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["opaque", "mongo"], default="opaque")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--conns", type=int, default=4)
    a = ap.parse_args()
    if a.role == "sink":
        sink(a.port)
        return 0
    return send(a.port, a.mode, a.seconds, a.conns)


if __name__ == "__main__":
    sys.exit(main())
