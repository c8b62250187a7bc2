#!/usr/bin/env python3
"""WebSocket echo server for tests/websocket.rs (the `websockets` library).

    echo_server.py PORT

Each connection is greeted first (a text frame sent before the client says
anything, so it can arrive with the 101 in one read), then every message is
sent back as it came. A handshake for /deny is answered 404 instead.
"""
import asyncio
import sys
from http import HTTPStatus

from websockets.asyncio.server import serve


def deny(connection, request):
    if request.path == "/deny":
        return connection.respond(HTTPStatus.NOT_FOUND, "no websocket here\n")
    return None


async def echo(ws):
    await ws.send("hello " + ws.request.path)
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with serve(echo, "127.0.0.1", port, process_request=deny, max_size=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
