"""The ack baseline: 202 once the body is in SQLite, in WAL mode with full fsync; and its
group-committed variant, which answers each request once the commit holding its insert is done."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import TYPE_CHECKING

from aiohttp.test_utils import TestClient, TestServer

from bench.baseline_server import ACCEPTED, CONNECTION, create_app, create_group_commit_app

if TYPE_CHECKING:
    from pathlib import Path


def test_each_request_is_answered_202_after_its_body_is_committed(tmp_path: Path):
    database = tmp_path / "events.sqlite3"

    async def post_two() -> list[tuple[int, bytes]]:
        async with TestClient(TestServer(create_app(database))) as client:
            answers = []
            for body in (b'{"number": "1"}', b'{"number": "2"}'):
                answer = await client.post("/anything", data=body)
                answers.append((answer.status, await answer.read()))
            return answers

    answers = asyncio.run(post_two())

    assert answers == [(202, ACCEPTED), (202, ACCEPTED)]
    with sqlite3.connect(database) as reader:
        stored = [row[0] for row in reader.execute("SELECT payload FROM events ORDER BY received")]
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert stored == [b'{"number": "1"}', b'{"number": "2"}']


def test_its_connection_syncs_every_commit_fully(tmp_path: Path):
    app = create_app(tmp_path / "events.sqlite3")
    assert app[CONNECTION].execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_the_group_commit_variant_answers_each_of_concurrent_requests_once_its_body_is_on_disk(
    tmp_path: Path,
):
    database = tmp_path / "events.sqlite3"
    bodies = [f'{{"number": "{n}"}}'.encode() for n in range(20)]

    async def post_at_once() -> list[tuple[int, bytes, bool]]:
        async with TestClient(TestServer(create_group_commit_app(database))) as client:

            async def post(body: bytes) -> tuple[int, bytes, bool]:
                answer = await client.post("/anything", data=body)
                with sqlite3.connect(database) as reader:  # another connection: what is on disk
                    stored = reader.execute(
                        "SELECT count(*) FROM events WHERE payload = ?", (body,)
                    ).fetchone() == (1,)
                return answer.status, await answer.read(), stored

            return await asyncio.gather(*(post(body) for body in bodies))

    answers = asyncio.run(post_at_once())

    assert answers == [(202, ACCEPTED, True)] * len(bodies)
