"""Fixtures of the async engine's tests: an SQS client on the shared moto, new queues, engines."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.async_invoke.destinations import DestinationSender
from local.async_invoke.engine import AsyncEngine
from local.cloud.functions import LocalFunction
from tests.local.async_invoke.helpers import REGION, SCALE, Queue, ScriptedExecutor


@pytest.fixture
def aws(endpoint: str) -> Callable[[str], Any]:
    """A boto3 client of the shared moto, by service name."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture
def sqs(aws: Callable[[str], Any]) -> Any:
    return aws("sqs")


@pytest.fixture
def new_queue(sqs: Any) -> Callable[[], Queue]:
    def make() -> Queue:
        url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return Queue(url, attrs["Attributes"]["QueueArn"])

    return make


@pytest.fixture
def make_engine(tmp_path: Path, endpoint: str):
    engines: list[AsyncEngine] = []

    def make(
        *functions: LocalFunction,
        executor: Any = None,
        scale: float = SCALE,
        db: str = "q.db",
        sender: DestinationSender | None = None,
        **options: Any,
    ) -> AsyncEngine:
        """An engine on ``tmp_path / db``; ``options`` are AsyncEngine's keywords."""
        engine = AsyncEngine(
            tmp_path / db,
            {f.name: f for f in functions},
            executor or ScriptedExecutor(),
            sender or DestinationSender(endpoint_url=endpoint, region=REGION),
            time_scale=scale,
            **options,
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
