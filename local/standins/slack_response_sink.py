"""A stand-in for Slack's response URLs: it keeps what workers post, for people and tests.

``POST /hooks/<id>`` stores the JSON body (as Slack would show it in the channel);
``GET /hooks/<id>`` lists what reached that URL, oldest first.

Memory stays bounded: a URL's posts are kept for :data:`RETENTION_SECONDS` after its first
post (Slack honours a response URL for 30 minutes), and only the :data:`MAX_URLS` most
recently opened URLs are kept.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["MAX_URLS", "RETENTION_SECONDS", "ResponseSink", "create_sink_app"]

RETENTION_SECONDS = 30 * 60
MAX_URLS = 10_000


class ResponseSink:
    """What reached each response URL, oldest URL first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._urls: OrderedDict[str, tuple[float, list[Any]]] = OrderedDict()

    def post(self, url_id: str, message: Any) -> None:
        self._forget_old()
        if url_id not in self._urls:
            self._urls[url_id] = (self._clock(), [])
            while len(self._urls) > MAX_URLS:
                self._urls.popitem(last=False)
        self._urls[url_id][1].append(message)

    def posts(self, url_id: str) -> list[Any]:
        self._forget_old()
        return list(self._urls.get(url_id, (0.0, []))[1])

    def __len__(self) -> int:
        return len(self._urls)

    def _forget_old(self) -> None:
        cutoff = self._clock() - RETENTION_SECONDS
        while self._urls and next(iter(self._urls.values()))[0] < cutoff:
            self._urls.popitem(last=False)


def create_sink_app(sink: ResponseSink | None = None) -> web.Application:
    received = sink or ResponseSink()

    async def post(request: web.Request) -> web.Response:
        try:
            message = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        received.post(request.match_info["id"], message)
        return web.Response(text="ok")  # what Slack answers

    async def get(request: web.Request) -> web.Response:
        return web.json_response(received.posts(request.match_info["id"]))

    app = web.Application()
    app.add_routes([web.post("/hooks/{id}", post), web.get("/hooks/{id}", get)])
    return app
