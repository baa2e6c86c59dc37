"""A Lambda service running tiny handlers in real environments (``python -m awslambdaric``)."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from local.cloud.functions import LocalFunction
from local.lambda_.service import LambdaService

HANDLERS = textwrap.dedent(
    """
    import os
    import pathlib
    import time

    def echo(event, context):
        return {
            "event": event,
            "request_id": context.aws_request_id,
            "pid": os.getpid(),
            "remaining_ms": context.get_remaining_time_in_millis(),
        }

    def sized(event, context):
        return {"pid": os.getpid(), "filler": "x" * event["bytes"]}

    def hold(event, context):
        # Runs until the file named in the event exists; says it started by making a file.
        (pathlib.Path(event["started"]) / context.aws_request_id).touch()
        gate = pathlib.Path(event["gate"])
        while not gate.exists():
            time.sleep(0.01)
        if "done" in event:
            pathlib.Path(event["done"]).touch()
        return {
            "request_id": context.aws_request_id,
            "pid": os.getpid(),
            "remaining_ms": context.get_remaining_time_in_millis(),
        }

    def running_at_once(event, context):
        # How many invocations of this function run now, seen from inside one of them; the
        # count is also appended to the "seen" file beside the folder.
        folder = pathlib.Path(event["folder"])
        mine = folder / context.aws_request_id
        mine.touch()
        time.sleep(event.get("sleep", 0.02))
        seen = len(list(folder.iterdir()))
        mine.unlink()
        with (folder.parent / "seen").open("a") as log:
            log.write(f"{seen}\\n")
        return seen

    def crash(event, context):
        os._exit(1)

    def hang(event, context):
        time.sleep(600)
    """
)
BROKEN_IMPORT = "import module_that_is_not_installed\n"
FLAKY_INIT = textwrap.dedent(
    """
    import os
    import pathlib

    # The first init fails; every later one succeeds (Lambda retries init on the next invoke).
    _tries = pathlib.Path(os.environ["INIT_TRIES"])
    _tries.write_text(str(int(_tries.read_text() or 0) + 1) if _tries.exists() else "1")
    if _tries.read_text() == "1":
        raise RuntimeError("first init fails")

    def handler(event, context):
        return {"request_id": context.aws_request_id}
    """
)


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "handlers.py").write_text(HANDLERS)
    (folder / "broken.py").write_text(BROKEN_IMPORT)
    (folder / "flaky_init.py").write_text(FLAKY_INIT)
    return folder


@pytest.fixture
def make_function(code_dir: Path) -> Callable[..., LocalFunction]:
    def make(name: str, handler: str = "handlers.echo", **settings: Any) -> LocalFunction:
        return LocalFunction(
            name=name,
            arn=f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
            handler=handler,
            code_dir=code_dir,
            **settings,
        )

    return make


@pytest.fixture
def lambda_service(tmp_path: Path):
    """``async with lambda_service(*functions, **settings) as service``: closed on the way out."""

    @asynccontextmanager
    async def open_service(*functions: LocalFunction, **settings: Any) -> AsyncIterator[Any]:
        service = LambdaService(
            {f.name: f for f in functions},
            lambda f: {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **f.environment},
            tmp_path / "logs",
            **settings,
        )
        try:
            yield service
        finally:
            await service.close()

    return open_service


async def wait_for_files(folder: Path, count: int, timeout: float = 20.0) -> None:
    """Until ``folder`` holds ``count`` files (the ``hold`` handler's "I started" marks)."""
    async with asyncio.timeout(timeout):
        while len(list(folder.iterdir())) < count:
            await asyncio.sleep(0.01)
