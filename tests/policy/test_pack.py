"""The pack as Pulumi runs it: ``python -m pulumi.policy`` on ``policy/``, spoken to over gRPC.

``pulumi up --policy-pack policy`` starts the pack this way (pulumi-analyzer-policy-python) and
calls the analyzer service; these tests do the same, so they cover ``policy/__main__.py``, the
import path it sets up, the policies' registration and what the real servicer hands them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Secret
from pulumi_policy.deserialize import serialize_properties

from local.cloud.capture import PROJECT_ROOT, Capture
from policy.policies import PACK_NAME, POLICIES
from tests.policy.adapter import changed, replacing

MANDATORY, ADVISORY = (
    analyzer_pb2.EnforcementLevel.MANDATORY,
    analyzer_pb2.EnforcementLevel.ADVISORY,
)


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The pack's analyzer service, started as Pulumi starts it (from another folder)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", "127.0.0.1:0", str(PROJECT_ROOT / "policy")],
        cwd=tmp_path_factory.mktemp("elsewhere"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip() if process.stdout else ""
        if not port:
            pytest.fail(f"the pack did not start: {process.communicate(timeout=10)[1]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _struct(values: Mapping[str, Any], secret: set[str] | frozenset[str] = frozenset()) -> Any:
    struct = struct_pb2.Struct()
    marked = {k: Secret(v) if k in secret else v for k, v in values.items()}
    struct.update(serialize_properties(marked))
    return struct


def _analyze(analyzer: Any, type_token: str, name: str, props: Mapping[str, Any], urn: str = ""):
    request = analyzer_pb2.AnalyzeRequest(
        type=type_token,
        name=name,
        urn=urn or f"urn:pulumi:dev::ackflow::{type_token}::{name}",
        properties=_struct(props),
    )
    return list(analyzer.Analyze(request).diagnostics)


def _analyze_stack(analyzer: Any, stack: Capture):
    root = next(r.parent for r in stack.top_level())
    resources = [
        analyzer_pb2.AnalyzerResource(
            type="pulumi:pulumi:Stack",
            urn=root,
            name=root.rsplit("::", 1)[-1],
            properties=_struct(stack.outputs, stack.secret_outputs),
        ),
        *(
            analyzer_pb2.AnalyzerResource(
                type=r.type, urn=r.urn, name=r.name, parent=r.parent, properties=_struct(r.outputs)
            )
            for r in stack.resources
        ),
    ]
    return list(
        analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    )


def test_the_pack_registers_every_policy_with_its_enforcement_level(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert info.name == PACK_NAME
    assert levels == {
        p.name: MANDATORY if p.enforcement_level == EnforcementLevel.MANDATORY else ADVISORY
        for p in POLICIES
    }
    assert sorted(n for n, level in levels.items() if level == ADVISORY) == [
        "appsync-field-logs-not-all-in-production",
        "async-workers-have-failure-destination",
    ]
    assert len(levels) == len(POLICIES) == 10


def test_every_resource_of_the_dev_stack_passes_the_real_analyzer(analyzer, dev: Capture):
    for record in dev.resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=record.type,
            name=record.name,
            urn=record.urn,
            properties=_struct(record.inputs, frozenset(record.secret_inputs)),
        )
        assert list(analyzer.Analyze(request).diagnostics) == [], record.urn
    assert _analyze_stack(analyzer, dev) == []


def test_a_wrong_input_stops_the_deploy(analyzer, dev: Capture):
    worker = dev.named("aws:lambda/function:Function", "squaring-worker")
    diagnostics = _analyze(
        analyzer, worker.type, worker.name, changed(worker, memorySize=100.0).inputs
    )
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("aws-api-rules", MANDATORY)
    ]
    assert diagnostics[0].message.endswith(
        "aws:lambda/function:Function squaring-worker: memorySize 100 is below CreateFunction's "
        "MemorySize minimum 128 (botocore lambda model)"
    )


def test_a_secret_wrapped_by_pulumi_is_judged_on_its_value(analyzer):
    # Secrets reach the analyzer wrapped and reach the policy unwrapped.
    struct = _struct({"environment": {"variables": {"SLACK_TOKEN": Secret("xoxb-" + "1" * 12)}}})
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:lambda/function:Function",
        name="w",
        urn="urn:pulumi:dev::ackflow::aws:lambda/function:Function::w",
        properties=struct,
    )
    names = [d.policyName for d in analyzer.Analyze(request).diagnostics]
    assert "lambda-environment-no-secrets" in names


def test_a_worker_losing_its_failure_destination_is_an_advisory_warning(analyzer, dev: Capture):
    config = dev.named(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "squaring-worker"
    )
    stack = replacing(dev, changed(config, destinationConfig=None))
    diagnostics = _analyze_stack(analyzer, stack)
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("async-workers-have-failure-destination", ADVISORY)
    ]
    assert diagnostics[0].urn == dev.named("aws:lambda/function:Function", "squaring-worker").urn
