"""Drives a real `ackflow up` subprocess on free loopback ports, as a user would."""

from __future__ import annotations

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
from botocore.config import Config

from local.aws_services.moto_server import port_is_free

HERE = Path(__file__).parent
STACK_FILE = HERE / "Pulumi.e2e.yaml"
TIME_SCALE = 0.01
MODEL_TOKENS_PER_SECOND = 400
"""The Bedrock stand-in's pace in the tests: a reply of a few hundred tokens takes a second."""
STARTUP_SECONDS = 60


@dataclass
class RunningStack:
    """An `ackflow up` process and the endpoints it wrote."""

    state_root: Path
    port_base: int
    process: subprocess.Popen[bytes] | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)
    stack_file: Path = STACK_FILE

    @property
    def stack(self) -> str:
        """``Pulumi.<stack>.yaml`` → ``<stack>``."""
        return self.stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")

    @property
    def state_dir(self) -> Path:
        return self.state_root / self.stack

    def command(self) -> list[str]:
        """The `ackflow up` command line for this stack."""
        return [
            *ackflow_command(),
            "up",
            "--stack-file",
            str(self.stack_file),
            "--time-scale",
            str(TIME_SCALE),
            "--model-tokens-per-second",
            str(MODEL_TOKENS_PER_SECOND),
            *self._args(),
        ]

    def environment(self) -> dict[str, str]:
        return {"ACKFLOW_WORKLOADS_PATH": str(HERE / "workloads")}

    def start(self) -> None:
        (self.state_dir / "endpoints.json").unlink(missing_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            env={**os.environ, **self.environment()},
            stdout=(self.state_root / "up.out").open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.wait_until_up(self.process)

    def wait_until_up(self, process: subprocess.Popen[bytes]) -> None:
        """Wait for the endpoints file that `ackflow up` writes once it serves."""
        endpoints_file = self.state_dir / "endpoints.json"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not endpoints_file.is_file():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ackflow up did not start:\n{self.output()}")
            time.sleep(0.1)
        self.endpoints = json.loads(endpoints_file.read_text())

    def stop(self) -> int:
        """Ctrl-C, as a user would; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def down(self) -> None:
        subprocess.run(
            [*ackflow_command(), "down", "--stack", self.stack, *self._args()], check=False
        )

    def output(self) -> str:
        log = self.state_root / "up.out"
        return log.read_text(errors="replace") if log.exists() else ""

    def client(self, service: str, attempts: int = 3) -> Any:
        endpoint = self.endpoints[f"{'lambda' if service == 'lambda' else 'aws'}_endpoint_url"]
        return boto3.client(
            service,
            config=Config(retries={"total_max_attempts": attempts}, connect_timeout=5),
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def workload(self, name: str) -> dict[str, Any]:
        return self.endpoints["workloads"][name]

    def _args(self) -> list[str]:
        return ["--state-dir", str(self.state_root), "--port-base", str(self.port_base)]


def free_port_base(count: int = 8) -> int:
    """A base port with ``count`` free ports after it, below Linux's ephemeral range (32768
    and up) so that no outgoing connection or Runtime API server can take one meanwhile."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        if all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free ports")


def receive_records(stack: RunningStack, queue_url: str, count: int, timeout: float = 20) -> list:
    """Read (and delete) ``count`` destination records from a queue, waiting for them."""
    sqs = stack.client("sqs")
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            records.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return records


def ackflow_command() -> list[str]:
    return [sys.executable, "-m", "local.cli"]
