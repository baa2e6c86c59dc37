"""The ack path's baseline: a bare aiohttp server that answers 202 after one fsync'ed SQLite
insert per request (WAL, ``synchronous=FULL``), nothing else.

With ``group_commit``, the inserts go through the event store's own writer
(:class:`~local.async_invoke.group_commit.GroupCommitter`): concurrent requests share a commit,
each still answered once its insert is on disk. That is the accept path as the stack builds
it, bare: the floor's stand-in for an accept path in a process of its own.

Run as ``python -m bench.baseline_server <database> [--group-commit]``; it listens on a free
loopback port and prints ``port <n>`` once it serves. :class:`BaselineServer` starts it so.
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

from local.async_invoke.group_commit import GroupCommitter

__all__ = ["ACCEPTED", "CONNECTION", "BaselineServer", "create_app", "create_group_commit_app"]

ACCEPTED = b'{"status": "ACCEPTED"}'
_INSERT = "INSERT INTO events VALUES (?, ?, ?)"
CONNECTION = web.AppKey("connection", sqlite3.Connection)


class BaselineServer:
    """The server in a process of its own (as the stack's servers are), for ``with``."""

    def __init__(self, database: Path, *, group_commit: bool = False) -> None:
        self.database = database
        self.group_commit = group_commit
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> BaselineServer:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.baseline_server",
                str(self.database),
                *(["--group-commit"] if self.group_commit else []),
            ],
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
    connection = _connect(database)

    async def accept(request: web.Request) -> web.Response:
        payload = await request.read()
        # One transaction per request: the commit is the fsync (WAL, synchronous=FULL).
        connection.execute(_INSERT, (str(uuid.uuid4()), payload, time.time()))
        return web.Response(status=202, body=ACCEPTED, content_type="application/json")

    app = web.Application()
    app[CONNECTION] = connection
    app.router.add_route("*", "/{tail:.*}", accept)
    return app


def create_group_commit_app(database: Path) -> web.Application:
    """:func:`create_app` with its inserts group-committed by the event store's writer."""
    writer = GroupCommitter(lambda: _connect(database), name="baseline-writer")

    async def accept(request: web.Request) -> web.Response:
        row = (str(uuid.uuid4()), await request.read(), time.time())
        await writer.run(lambda db: db.execute(_INSERT, row))
        return web.Response(status=202, body=ACCEPTED, content_type="application/json")

    async def close_writer(app: web.Application) -> None:
        writer.close()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", accept)
    app.on_cleanup.append(close_writer)
    return app


def _connect(database: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, payload BLOB, received REAL)"
    )
    return connection


async def _serve(database: Path, group_commit: bool) -> None:
    app = create_group_commit_app(database) if group_commit else create_app(database)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listening).start()
    print(f"port {listening.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1]), group_commit="--group-commit" in sys.argv[2:]))
