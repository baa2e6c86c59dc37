"""appsync-field-logs-not-all-in-production (advisory), and what marks a stack production."""

from __future__ import annotations

import pytest

from local.cloud.capture import Capture
from policy.production import is_production
from tests.policy.adapter import changed, policy_named, replacing, run

POLICY = policy_named("appsync-field-logs-not-all-in-production")
API = "aws:appsync/graphQLApi:GraphQLApi"


def _field_logs(stack: Capture, level: str) -> Capture:
    api = stack.named(API, "api-graphql")
    return replacing(
        stack, changed(api, logConfig={**api.inputs["logConfig"], "fieldLogLevel": level})
    )


def test_the_example_stacks_pass(example_stack: Capture):
    assert run(POLICY, example_stack) == []


def test_dev_logs_all_fields_and_passes_because_it_is_not_production(dev: Capture):
    assert dev.named(API, "api-graphql").inputs["logConfig"]["fieldLogLevel"] == "ALL"
    assert run(POLICY, dev) == []


def test_all_on_prod_is_named(prod: Capture):
    violations = run(POLICY, _field_logs(prod, "ALL"))
    assert [v.message for v in violations] == [
        "aws:appsync/graphQLApi:GraphQLApi api-graphql: field logs are ALL on production stack "
        "'prod', which logs every request's and response's data; use ERROR "
        "(ackflow:api.fieldLogLevel)"
    ]


def test_dev_is_production_when_the_policy_config_names_it(dev: Capture):
    assert len(run(POLICY, dev, config={"productionStacks": ["dev"]})) == 1


def test_dev_is_production_when_tagged_so(dev: Capture):
    assert len(run(POLICY, dev, tags={"environment": "production"})) == 1


def test_prod_is_not_production_when_the_config_leaves_it_out(prod: Capture):
    assert run(POLICY, _field_logs(prod, "ALL"), config={"productionStacks": ["live"]}) == []


@pytest.mark.parametrize(
    ("stack", "config", "tags", "production"),
    [
        ("prod", {}, {}, True),
        ("production", {}, {}, True),
        ("prod-eu", {}, {}, False),
        ("dev", {}, {"environment": "production"}, True),
        ("dev", {}, {"environment": "staging"}, False),
        ("live", {"productionStacks": ["live"]}, {}, True),
    ],
)
def test_what_marks_a_stack_production(stack, config, tags, production):
    assert is_production(stack, config, tags) is production
