"""The bench's stack: the dev stack as it is, plus the 2-second ``nap`` from bench/workloads."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import yaml

from bench.stack import BENCH_STACK, BENCH_WORKLOADS, NAP_SETTINGS, BenchStack, write_stack_file
from local.cloud.capture import PROJECT_ROOT, capture, read_stack_file
from stack.program import WORKLOADS_PATH_ENV

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_the_bench_stack_is_the_dev_stack_plus_nap(tmp_path: Path):
    dev = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    bench = yaml.safe_load(write_stack_file(tmp_path).read_text())["config"]

    workloads = bench.pop("ackflow:workloads")
    assert workloads.pop("nap") == NAP_SETTINGS
    assert workloads == dev.pop("ackflow:workloads")
    assert bench == dev


def test_it_evaluates_with_nap_behind_get_nap_and_an_age_it_cannot_outlive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(WORKLOADS_PATH_ENV, str(BENCH_WORKLOADS))

    stack = capture("bench", read_stack_file(write_stack_file(tmp_path)))

    paths = {r.inputs["pathPart"] for r in stack.of_type("aws:apigateway/resource:Resource")}
    assert "nap" in paths
    (config,) = [
        r
        for r in stack.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
        if "nap" in r.inputs["functionName"]
    ]
    assert config.inputs["maximumEventAgeInSeconds"] == NAP_SETTINGS["maxEventAgeSeconds"]


def test_start_waits_for_the_endpoints_of_the_run_it_started_not_an_earlier_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    endpoints_file = tmp_path / BENCH_STACK / "endpoints.json"
    endpoints_file.parent.mkdir()
    endpoints_file.write_text(json.dumps({"run": "earlier"}))
    # In place of `ackflow up`: a process that writes its endpoints once it "serves".
    writes_later = (
        "import pathlib, sys, time; time.sleep(0.3); "
        'pathlib.Path(sys.argv[1]).write_text(\'{"run": "this"}\')'
    )
    popen = subprocess.Popen

    def up(command: list[str], **options: object) -> subprocess.Popen[bytes]:
        assert command[1:4] == ["-m", "local.cli", "up"]
        return popen([sys.executable, "-c", writes_later, str(endpoints_file)])

    monkeypatch.setattr(subprocess, "Popen", up)
    stack = BenchStack(tmp_path, 20000)

    stack.start()

    assert stack.endpoints == {"run": "this"}
    assert stack.process is not None
    stack.process.wait()
