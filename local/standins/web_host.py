"""A stand-in for where the demo page would be hosted (an S3 website, CloudFront): the static
files of ``web/`` and a ``config.json`` naming the local stack's GraphQL endpoints and API key,
so the page works as soon as it loads. Deployed, the page takes the same settings by hand."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["WEB_ROOT", "create_web_app"]

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"


def create_web_app(config: Mapping[str, Any], root: Path = WEB_ROOT) -> web.Application:
    """``GET /`` serves ``root/index.html``, ``/config.json`` the page's settings."""

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(root / "index.html")

    async def page_config(_request: web.Request) -> web.Response:
        return web.json_response(dict(config), headers={"Cache-Control": "no-store"})

    app = web.Application()
    app.add_routes([web.get("/", index), web.get("/config.json", page_config)])
    app.router.add_static("/", root, show_index=False)
    return app
