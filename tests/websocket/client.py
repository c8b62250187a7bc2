#!/usr/bin/env python3
"""WebSocket client for tests/websocket.rs (the `websockets` library).

    client.py URL CONNECTIONS MESSAGES
    client.py URL hold SECONDS

Opens CONNECTIONS connections one after another; on each reads the
server's greeting, sends MESSAGES messages (text and binary, the last one
256 KiB so it crosses many reads), checks every echo, and closes. Prints
one JSON line: {"status": 101, "greetings": [...], "echoed": N}, or, when
the handshake is refused, {"status": <the HTTP status>}.

`hold` opens one connection, reads the greeting and then only waits, up
to SECONDS, for the connection to be closed by someone else: prints
{"status": 101, "closed": true|false, "after": seconds}.
"""
import asyncio
import json
import os
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def session(url, messages):
    async with connect(url, max_size=None, open_timeout=10) as ws:
        greeting = await asyncio.wait_for(ws.recv(), 10)
        echoed = 0
        for i in range(messages):
            if i == messages - 1:
                message = os.urandom(256 * 1024)
            elif i % 2:
                message = os.urandom(100 + i)
            else:
                message = "message %d" % i
            await ws.send(message)
            answer = await asyncio.wait_for(ws.recv(), 10)
            if answer != message:
                raise SystemExit("echo %d differs" % i)
            echoed += 1
        return greeting, echoed


async def hold(url, seconds):
    async with connect(url, open_timeout=10) as ws:
        await asyncio.wait_for(ws.recv(), 10)
        start = time.monotonic()
        try:
            await asyncio.wait_for(ws.recv(), seconds)
            closed = False
        except ConnectionClosed:
            closed = True
        except asyncio.TimeoutError:
            closed = False
        after = round(time.monotonic() - start, 3)
    print(json.dumps({"status": 101, "closed": closed, "after": after}))


async def main(url, connections, messages):
    greetings, echoed = [], 0
    try:
        for _ in range(connections):
            greeting, n = await session(url, messages)
            greetings.append(greeting)
            echoed += n
    except InvalidStatus as refused:
        print(json.dumps({"status": refused.response.status_code}))
        return
    print(json.dumps({"status": 101, "greetings": greetings, "echoed": echoed}))


if __name__ == "__main__":
    if sys.argv[2] == "hold":
        asyncio.run(hold(sys.argv[1], float(sys.argv[3])))
    else:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
