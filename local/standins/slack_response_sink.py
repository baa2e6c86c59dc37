"""A stand-in for Slack's response URLs: it keeps what workers post, for people and tests.

``POST /hooks/<id>`` stores the JSON body (as Slack would show it in the channel);
``GET /hooks/<id>`` lists what reached that URL, oldest first.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from aiohttp import web

__all__ = ["create_sink_app"]


def create_sink_app() -> web.Application:
    received: dict[str, list[Any]] = defaultdict(list)

    async def post(request: web.Request) -> web.Response:
        try:
            received[request.match_info["id"]].append(json.loads(await request.read()))
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        return web.Response(text="ok")  # what Slack answers

    async def get(request: web.Request) -> web.Response:
        return web.json_response(received.get(request.match_info["id"], []))

    app = web.Application()
    app.add_routes([web.post("/hooks/{id}", post), web.get("/hooks/{id}", get)])
    return app
