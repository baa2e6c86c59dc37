"""The Bedrock stand-in on a loopback port, and boto3's real bedrock-runtime client for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from aiohttp import web

from local.standins.bedrock import Pacing, create_bedrock_app

REGION = "us-east-1"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on an ephemeral port from a thread of its own; yields its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def stand_in_app() -> web.Application:
    """A fresh stand-in per test (fault counts start at zero), pacing off."""
    return create_bedrock_app(Pacing.instant())


@pytest.fixture
def endpoint(stand_in_app: web.Application) -> Iterator[str]:
    with serving(stand_in_app) as url:
        yield url


def bedrock_client(endpoint: str, **options: Any) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        **options,
    )


@pytest.fixture
def client(endpoint: str) -> Any:
    return bedrock_client(endpoint)
