#!/usr/bin/python3
"""Echo server on python websockets, a test peer for wsdbg's cmd tests.

Usage: py_echo_server.py [--no-deflate]

Listens on 127.0.0.1 on a free port and prints "PORT <n>" on stdout once
it accepts connections. Every data message is sent back as it came (text
as text, binary as binary). permessage-deflate is accepted by default, as
websockets does; --no-deflate turns it off. It runs until stdin closes, so
the test that started it needs no signal to stop it.

Like every websockets server, it stops sending once the client's close has
arrived: replies not yet sent are dropped, which is what line mode's
--wait (SPEC 1.4) is about.
"""
import asyncio
import sys

import websockets


async def echo(ws, *_):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass  # the reply to a message that came before the close


async def main():
    compression = None if "--no-deflate" in sys.argv[1:] else "deflate"
    async with websockets.serve(echo, "127.0.0.1", 0, compression=compression) as server:
        port = server.sockets[0].getsockname()[1]
        print("PORT", port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
