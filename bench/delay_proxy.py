#!/usr/bin/env python3
"""A TCP proxy that adds latency: every chunk from the upstream reaches the client `delay_ms`
later (order kept), so each request/response round trip (TLS handshake flights included) costs
about that much more. It stands in for a registry across a network in bench/image_resolution.sh;
TLS passes through untouched.

Usage: delay_proxy.py LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT DELAY_MS
"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    queue = asyncio.Queue()

    async def deliver():
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(deliver())
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((loop.time() + delay, data))
    except ConnectionError:
        pass
    await queue.put((0, None))
    await task


async def handle(client_reader, client_writer, host, port, delay):
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, up_writer, 0), pipe(up_reader, client_writer, delay),
                         return_exceptions=True)


async def main():
    listen, host, port, delay_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    server = await asyncio.start_server(lambda r, w: handle(r, w, host, port, delay_ms / 1000.0), "127.0.0.1", listen)
    print(f"delay proxy :{listen} -> {host}:{port} (+{delay_ms} ms per response chunk)", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
