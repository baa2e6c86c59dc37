"""The ack path's baseline: a bare aiohttp server that answers 202 after one fsync'ed SQLite
insert per request (WAL, ``synchronous=FULL``), nothing else.

Run as ``python -m bench.baseline_server <database>``; it listens on a free loopback port and
prints ``port <n>`` once it serves. :class:`BaselineServer` starts it so.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiohttp import web

__all__ = ["ACCEPTED", "CONNECTION", "BaselineServer", "create_app"]

ACCEPTED = b'{"status": "ACCEPTED"}'
CONNECTION = web.AppKey("connection", sqlite3.Connection)


class BaselineServer:
    """The server in a process of its own (as the stack's servers are), for ``with``."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> BaselineServer:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.baseline_server", str(self.database)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        port = int(self._process.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{port}/events"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


def create_app(database: Path) -> web.Application:
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, payload BLOB, received REAL)"
    )

    async def accept(request: web.Request) -> web.Response:
        payload = await request.read()
        # One transaction per request: the commit is the fsync (WAL, synchronous=FULL).
        connection.execute(
            "INSERT INTO events VALUES (?, ?, ?)", (str(uuid.uuid4()), payload, time.time())
        )
        return web.Response(status=202, body=ACCEPTED, content_type="application/json")

    app = web.Application()
    app[CONNECTION] = connection
    app.router.add_route("*", "/{tail:.*}", accept)
    return app


async def _serve(database: Path) -> None:
    runner = web.AppRunner(create_app(database), access_log=None)
    await runner.setup()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listening).start()
    print(f"port {listening.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1])))
