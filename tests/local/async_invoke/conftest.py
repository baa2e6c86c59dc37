"""Fixtures of the async engine's tests: an SQS client on the shared moto, new queues, engines."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.async_invoke.destinations import DestinationSender
from local.async_invoke.engine import AsyncEngine
from local.cloud.functions import LocalFunction
from tests.local.async_invoke.helpers import REGION, SCALE, Queue, ScriptedExecutor

MEMORY = Path("/dev/shm")


@pytest.fixture
def memory_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder in memory (Linux's tmpfs; elsewhere ``tmp_path``), for a store whose tests time
    the engine against a short age. On this project's machine the disk's fsync stalls for
    0.1-0.5 s now and then: the engine's claims and accepts stop together, waiting for the
    store's commit, and two such stalls in a second age out the events of a 1.2 s age, whatever
    the engine does (the dev stack's ages are 9 s and more, and keep margin for them)."""
    if not MEMORY.is_dir():
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="ackflow-test-", dir=MEMORY))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


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
        folder: Path | None = None,
        **options: Any,
    ) -> AsyncEngine:
        """An engine on ``db`` in ``folder`` (``tmp_path`` unless given); ``options`` are
        AsyncEngine's keywords."""
        engine = AsyncEngine(
            (folder or tmp_path) / db,
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
