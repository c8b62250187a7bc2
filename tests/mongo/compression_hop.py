#!/usr/bin/env python3
"""A MongoDB hop that negotiates wire compression on behalf of a server
that cannot (nx-27017 never answers the handshake with `compression`).

    python compression_hop.py --upstream HOST:PORT --compressors zlib,snappy,zstd

Listens on 127.0.0.1 (a port the kernel picks) and prints
`listening 127.0.0.1:PORT` once it accepts. Per connection:

  * a handshake (OP_QUERY or OP_MSG `hello` / `isMaster` / `ismaster`) that
    offers `compression: [...]` gets the first offered compressor we also
    allow added to the server's reply, as mongod does; handshakes and their
    replies themselves stay uncompressed (the spec forbids compressing them);
  * OP_COMPRESSED from the client is inflated and sent on as the message it
    wraps, so the server sees plain OP_MSG;
  * a reply to a request that came compressed goes back compressed with the
    same compressor.

Each compressed frame it handles is logged, so a test can count them
independently of the proxy under test:

    compressed request zlib command=find collection=items
    compressed reply zlib bytes=187 command=find collection=items

(`bytes` = the whole OP_COMPRESSED message on the wire; `command` and
`collection` are those of the request the reply answers.) Uses the standard library, pymongo's `bson`, and the codec
modules pymongo's snappy / zstd extras install.
"""
import argparse
import socket
import struct
import sys
import threading
import zlib

import bson

OP_REPLY, OP_QUERY, OP_COMPRESSED, OP_MSG = 1, 2004, 2012, 2013
HANDSHAKE = {"hello", "isMaster", "ismaster"}
LOCK = threading.Lock()


def log(line):
    with LOCK:
        print(line, flush=True)


class Codec:
    """One compressor: its wire id and its (compress, decompress) pair."""

    def __init__(self, name):
        self.name = name
        if name == "zlib":
            self.id, self.pack, self.unpack = 2, zlib.compress, zlib.decompress
        elif name == "snappy":
            import snappy  # python-snappy: raw block format, as the wire wants
            self.id, self.pack, self.unpack = 1, snappy.compress, snappy.uncompress
        elif name == "zstd":
            try:
                from compression import zstd  # Python 3.14+
            except ImportError:
                from backports import zstd
            self.id, self.pack, self.unpack = 3, zstd.compress, zstd.decompress
        elif name == "noop":
            self.id, self.pack, self.unpack = 0, bytes, bytes
        else:
            raise SystemExit("unknown compressor %r" % name)


def read_message(sock):
    """(request_id, response_to, op_code, body) or None at end of stream."""
    header = read_exactly(sock, 16)
    if header is None:
        return None
    length, request_id, response_to, op_code = struct.unpack("<iiii", header)
    body = read_exactly(sock, length - 16)
    if body is None:
        return None
    return request_id, response_to, op_code, body


def read_exactly(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 16))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def message(request_id, response_to, op_code, body):
    return struct.pack("<iiii", 16 + len(body), request_id, response_to, op_code) + body


def command_of(op_code, body):
    """The command document of an OP_QUERY or OP_MSG (kind-0 section), or None."""
    if op_code == OP_QUERY:
        # flags, full collection name (cstring), numberToSkip, numberToReturn
        return first_document(body, body.index(b"\0", 4) + 9)
    if op_code == OP_MSG and body[4] == 0:
        return first_document(body, 5)
    return None


def first_document(body, at):
    size = struct.unpack("<i", body[at:at + 4])[0]
    return bson.decode(body[at:at + size])


def command_and_collection(command):
    """First key of the command, and the collection it names ("" if none;
    getMore names it in its `collection` field)."""
    if not command:
        return ("", "")
    name = next(iter(command))
    value = command.get("collection") if name == "getMore" else command[name]
    return (name, value if isinstance(value, str) else "")


def with_compression(op_code, body, chosen):
    """The server's handshake reply with `compression: [chosen]` added."""
    if op_code == OP_REPLY:
        doc = bson.decode(body[20:])
        doc["compression"] = [chosen]
        return body[:20] + bson.encode(doc)
    if op_code == OP_MSG and body[4] == 0:
        size = struct.unpack("<i", body[5:9])[0]
        doc = bson.decode(body[5:5 + size])
        doc["compression"] = [chosen]
        return body[:5] + bson.encode(doc) + body[5 + size:]
    return body


class Connection:
    def __init__(self, client, upstream, allowed):
        self.client = client
        self.server = socket.create_connection(upstream)
        self.allowed = allowed
        self.codec = None          # agreed for this connection
        self.handshakes = {}       # request id -> compressor to announce
        self.compressed = {}       # request id -> (command, collection), compressed
        self.lock = threading.Lock()

    def run(self):
        threading.Thread(target=self.replies, daemon=True).start()
        try:
            self.requests()
        finally:
            self.server.close()

    def requests(self):
        while True:
            msg = read_message(self.client)
            if msg is None:
                return
            request_id, response_to, op_code, body = msg
            if op_code == OP_COMPRESSED:
                op_code, size, compressor_id = struct.unpack("<iiB", body[:9])
                codec = self.codec
                if codec is None or codec.id != compressor_id:
                    codec = next(c for c in self.allowed if c.id == compressor_id)
                body = codec.unpack(body[9:])
                assert len(body) == size, "declared %d, inflated %d" % (size, len(body))
                names = command_and_collection(command_of(op_code, body) or {})
                log("compressed request %s command=%s collection=%s" % ((codec.name,) + names))
                with self.lock:
                    self.compressed[request_id] = names
            else:
                self.note_handshake(request_id, op_code, body)
            self.server.sendall(message(request_id, response_to, op_code, body))

    def note_handshake(self, request_id, op_code, body):
        command = command_of(op_code, body) or {}
        if not command or next(iter(command)) not in HANDSHAKE:
            return
        offered = command.get("compression") or []
        chosen = next((c for name in offered for c in self.allowed if c.name == name), None)
        if chosen is not None:
            with self.lock:
                self.codec = chosen
                self.handshakes[request_id] = chosen.name

    def replies(self):
        try:
            while True:
                msg = read_message(self.server)
                if msg is None:
                    break
                request_id, response_to, op_code, body = msg
                with self.lock:
                    announce = self.handshakes.pop(response_to, None)
                    names = self.compressed.pop(response_to, None)
                if announce:
                    body = with_compression(op_code, body, announce)
                if names is not None and self.codec is not None:
                    packed = self.codec.pack(body)
                    body = struct.pack("<iiB", op_code, len(body), self.codec.id) + packed
                    op_code = OP_COMPRESSED
                    log("compressed reply %s bytes=%d command=%s collection=%s"
                        % ((self.codec.name, 16 + len(body)) + names))
                self.client.sendall(message(request_id, response_to, op_code, body))
        except OSError:
            pass
        finally:
            try:
                self.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    ap.add_argument("--compressors", default="zlib,snappy,zstd")
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    allowed = [Codec(name) for name in a.compressors.split(",") if name]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    log("listening 127.0.0.1:%d" % listener.getsockname()[1])
    while True:
        client, _ = listener.accept()
        conn = Connection(client, (host, int(port)), allowed)
        threading.Thread(target=conn.run, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
