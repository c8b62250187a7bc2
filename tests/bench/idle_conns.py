#!/usr/bin/env python3
"""Holds N idle keep-alive HTTP/1.1 connections open to 127.0.0.1:PORT.

    idle_conns.py PORT N [--batch B] [--hold S]

Each connection sends one `GET /` and reads the whole response, then stays
open and silent: the state of a real idle keep-alive client, which a proxy
must keep (connection, buffers, timers) but does no work for. Connections
are opened B at a time (default 50) so the proxy's upstream pool stays
small and the memory measured is per client connection.

Prints "ready OPEN FAILED" once all are settled, then holds them for S
seconds (default 60) or until killed. The caller reads RSS meanwhile.
"""
import argparse
import asyncio
import resource
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: idle-conns\r\n\r\n"


async def open_one(port, held):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        writer.write(REQUEST)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await asyncio.wait_for(reader.readexactly(length), 10)
        if not head.startswith(b"HTTP/1.1 200"):
            writer.close()
            return False
        held.append(writer)
        return True
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
        return False


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--hold", type=float, default=60)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.n + 1000), hard))
    held, failed = [], 0
    for start in range(0, a.n, a.batch):
        results = await asyncio.gather(
            *(open_one(a.port, held) for _ in range(min(a.batch, a.n - start))))
        failed += results.count(False)
    print("ready %d %d" % (len(held), failed), flush=True)
    await asyncio.sleep(a.hold)
    for w in held:
        w.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
