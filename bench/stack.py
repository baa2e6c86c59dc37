"""The bench's own `ackflow up`: the dev stack plus the bench's workloads, on free ports and in
a state folder of its own, started and stopped as a user would (tests/e2e/runner.py does the
same for the tests)."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config

from local.aws_services.moto_server import port_is_free
from local.cloud.capture import PROJECT_ROOT
from local.standins.bedrock import Pacing
from local.up import Ports
from stack.program import WORKLOADS_PATH_ENV

__all__ = [
    "BENCH_STACK",
    "BENCH_WORKLOADS",
    "MODEL_PACING",
    "BenchStack",
    "free_port_base",
    "write_stack_file",
]

BENCH_STACK = "bench"
BENCH_WORKLOADS = Path(__file__).parent / "workloads"
NAP_SETTINGS = {"maxEventAgeSeconds": 21600, "timeoutSeconds": 10}
"""The 2-second task: AWS's longest event age, so a queued nap never ages out during the run,
and room for the sleep within its timeout."""
STARTUP_SECONDS = 120
MODEL_PACING = Pacing()
"""The Bedrock stand-in's default pace, passed on explicitly: the streaming figures rely on
knowing its delay to the first token."""


def write_stack_file(folder: Path) -> Path:
    """``Pulumi.bench.yaml``: the dev stack's config as it is, plus the bench's ``nap``."""
    document = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["ackflow:workloads"]["nap"] = NAP_SETTINGS
    path = folder / f"Pulumi.{BENCH_STACK}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class BenchStack:
    """An `ackflow up` process of the bench stack and the endpoints it wrote."""

    state_root: Path
    port_base: int
    process: subprocess.Popen[bytes] | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.state_root / BENCH_STACK

    @property
    def ports(self) -> Ports:
        return Ports.from_base(self.port_base)

    def start(self) -> float:
        """Start it and wait until it serves; returns the seconds that took."""
        self.state_root.mkdir(parents=True, exist_ok=True)
        stack_file = write_stack_file(self.state_root)
        endpoints_file = self.state_dir / "endpoints.json"
        endpoints_file.unlink(missing_ok=True)  # an earlier run's, which names its ports
        started = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.cli",
                "up",
                "--stack-file",
                str(stack_file),
                "--model-first-token-seconds",
                str(MODEL_PACING.first_token_seconds),
                "--model-tokens-per-second",
                str(MODEL_PACING.tokens_per_second),
                *self._args(),
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, WORKLOADS_PATH_ENV: str(BENCH_WORKLOADS)},
            stdout=(self.state_root / "up.out").open("ab"),
            stderr=subprocess.STDOUT,
            # As a user's terminal runs `make run`: apart from the load client's session, so
            # that where Linux has autogroups wrk is not weighed as a part of the stack's drain.
            start_new_session=True,
        )
        while not endpoints_file.is_file():
            if self.process.poll() is not None or time.monotonic() > started + STARTUP_SECONDS:
                log = (self.state_root / "up.out").read_text(errors="replace")
                raise RuntimeError(f"ackflow up did not start:\n{log}")
            time.sleep(0.05)
        self.endpoints = json.loads(endpoints_file.read_text())
        return time.monotonic() - started

    def stop(self) -> None:
        """Ctrl-C, as a user would, then `ackflow down` for the AWS services."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        subprocess.run(
            [sys.executable, "-m", "local.cli", "down", "--stack", BENCH_STACK, *self._args()],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=False,
        )

    def client(self, service: str) -> Any:
        """A boto3 client of the stack's Lambda service or of its AWS services (moto)."""
        key = "lambda_endpoint_url" if service == "lambda" else "aws_endpoint_url"
        return boto3.client(
            service,
            config=Config(retries={"total_max_attempts": 3}, max_pool_connections=32),
            endpoint_url=self.endpoints[key],
            region_name=self.endpoints["region"],
            aws_access_key_id=self.endpoints["aws_access_key_id"],
            aws_secret_access_key=self.endpoints["aws_secret_access_key"],
        )

    def function(self, workload: str) -> str:
        return self.endpoints["workloads"][workload]["function_name"]

    def queue(self, workload: str, condition: str) -> str:
        return self.endpoints["workloads"][workload][f"{condition}_queue_url"]

    def _args(self) -> list[str]:
        return ["--state-dir", str(self.state_root), "--port-base", str(self.port_base)]


def free_port_base() -> int:
    """A base port with every port of a stack free after it, below Linux's ephemeral range."""
    count = len(dataclasses.fields(Ports))
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        if all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free ports")
