"""What enabling the streaming workload declares, for its settings (Pulumi mocks, no AWS)."""

from __future__ import annotations

import json

import pytest

from local.cloud.testing import CaptureError, WorkloadResources, evaluate_workload, workload_name

NAME = workload_name(__file__)
INVOKE = "bedrock:InvokeModelWithResponseStream"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture(scope="module")
def defaults() -> WorkloadResources:
    return evaluate_workload(NAME)


def test_the_worker_may_invoke_claude_haiku_through_the_regions_profile_only(
    defaults: WorkloadResources,
):
    worker = defaults.worker
    profile = f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{HAIKU}"
    assert worker.allows(INVOKE, profile)
    for region in ("us-east-1", "us-east-2", "us-west-2"):
        assert worker.allows(INVOKE, f"arn:aws:bedrock:{region}::foundation-model/{HAIKU}")
    assert not worker.allows(INVOKE, f"arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}")
    assert not worker.allows("bedrock:InvokeModel", profile)
    assert all(statement["Resource"] != "*" for statement in worker.statements)


def test_a_foundation_model_setting_scopes_the_grant_to_that_model():
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    worker = evaluate_workload(NAME, {"modelId": model}).worker

    assert worker.allows(INVOKE, f"arn:aws:bedrock:us-east-1::foundation-model/{model}")
    assert not worker.allows(INVOKE, f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}")
    assert worker.environment["BEDROCK_MODEL_ID"] == model


def test_the_flush_rule_and_limits_reach_the_worker_and_the_resolver():
    resources = evaluate_workload(
        NAME, {"flushMs": 250, "flushBytes": 4096, "maxTokens": 300, "maxPromptChars": 500}
    )
    environment = resources.worker.environment
    assert (environment["FLUSH_MS"], environment["FLUSH_BYTES"]) == ("250", "4096")
    assert environment["BEDROCK_MAX_TOKENS"] == "300"
    resolver = resources.resolvers["Mutation.startStream"]
    assert resolver.invocation == "Event"
    rules = json.loads(
        next(line for line in resolver.code.splitlines() if line.startswith("const RULES = "))
        .removeprefix("const RULES = ")
        .removesuffix(";")
    )
    assert rules["prompt"]["maxLength"] == 500
    assert rules["maxTokens"] == {"minimum": 1, "maximum": 300}


def test_a_failed_stream_is_retried_and_its_record_kept(defaults: WorkloadResources):
    assert defaults.invoke_config.retries == 2
    assert defaults.invoke_config.on_failure == defaults.queues["failure"].arn
    assert defaults.worker.timeout_seconds == 300


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"modelId": f"global.{HAIKU}"}, "modelId"),
        ({"flushMs": 1}, "flushMs"),
        ({"temperature": 2}, "temperature"),
        ({"maxToken": 10}, "maxToken"),
    ],
)
def test_a_bad_setting_stops_the_program_naming_its_key(settings: dict, key: str):
    with pytest.raises(CaptureError, match=rf"ackflow:workloads\.{NAME}\.{key}"):
        evaluate_workload(NAME, settings)
