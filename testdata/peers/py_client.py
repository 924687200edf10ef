#!/usr/bin/python3
"""Client on python websockets, a test peer for wsdbg's cmd tests.

Usage: py_client.py URL MESSAGE...

Connects (offering permessage-deflate, as websockets does by default),
sends each MESSAGE as a text message and waits for its reply before the
next, printing each reply on its own line, then closes with 1000 and
prints "close CODE" with the code the server answered with. It prints
"extensions NAME" for the extension the server accepted, first.
"""
import asyncio
import sys

import websockets


async def main():
    url, msgs = sys.argv[1], sys.argv[2:]
    async with websockets.connect(url, open_timeout=10, close_timeout=5) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        print("extensions", ext.split(";")[0].strip() or "none", flush=True)
        for m in msgs:
            await ws.send(m)
            reply = await asyncio.wait_for(ws.recv(), 10)
            print(reply, flush=True)
        await ws.close(1000)
        print("close", ws.close_code, flush=True)


asyncio.run(main())
