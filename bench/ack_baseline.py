"""The ack path's baseline: a bare aiohttp server answering 202 after one fsync'ed SQLite
insert per request (WAL, ``synchronous=FULL``), on the event loop, as simply as it gets.

    python -m bench.ack_baseline --port 27499 --db /tmp/baseline.sqlite3
"""

from __future__ import annotations

import argparse
import sqlite3
import uuid
from pathlib import Path

from aiohttp import web

__all__ = ["baseline_app"]


def baseline_app(db_path: Path) -> web.Application:
    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, payload BLOB)")

    async def accept(request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        payload = await request.read()
        db.execute("INSERT INTO events VALUES (?, ?)", (request_id, payload))
        return web.Response(status=202, headers={"x-amzn-RequestId": request_id})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", accept)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    web.run_app(baseline_app(args.db), host="127.0.0.1", port=args.port, access_log=None)


if __name__ == "__main__":
    main()
