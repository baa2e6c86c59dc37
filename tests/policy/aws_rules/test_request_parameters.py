"""API Gateway's request-parameter mapping syntax."""

from __future__ import annotations

import pytest

from policy.aws_rules.request_parameters import (
    INTEGRATION_PARAMETER,
    MAPPING_SOURCE,
    METHOD_PARAMETER,
    integration_problems,
    method_problems,
)


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("method.request.header.InvocationType", True),
        ("method.request.path.number", True),
        ("method.request.querystring.page_size", True),
        ("method.request.multivalueheader.X-Forwarded-For", True),
        ("method.request.cookie.session", False),
        ("method.request.header.", False),
        ("method.request.header.two words", False),
        ("request.header.InvocationType", False),
    ],
)
def test_method_request_parameters(expression: str, valid: bool):
    assert bool(METHOD_PARAMETER.fullmatch(expression)) is valid


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("integration.request.header.X-Amz-Invocation-Type", True),
        ("integration.request.path.id", True),
        ("integration.request.querystring.q", True),
        ("integration.request.body", False),
        ("integration.response.header.X", False),
    ],
)
def test_integration_request_parameters(expression: str, valid: bool):
    assert bool(INTEGRATION_PARAMETER.fullmatch(expression)) is valid


@pytest.mark.parametrize(
    ("source", "valid"),
    [
        ("'Event'", True),
        ("''", True),
        ("method.request.header.InvocationType", True),
        ("method.request.body", True),
        ("method.request.body.order.id", True),
        ("stageVariables.backend", True),
        ("context.requestId", True),
        ("Event", False),
        ("'Event", False),
        ("$context.requestId", False),
        ("method.request.header", False),
    ],
)
def test_mapping_sources(source: str, valid: bool):
    assert bool(MAPPING_SOURCE.fullmatch(source)) is valid


def test_problems_name_the_offending_entries():
    assert list(integration_problems({"integration.request.header.A": "'x'"})) == []
    assert len(list(integration_problems({"header.A": "Event"}))) == 2
    assert list(method_problems({"method.request.header.InvocationType": False})) == []
    assert list(method_problems({"InvocationType": True})) == [
        "requestParameters key 'InvocationType' is not method.request.{location}.{name} "
        "(location path, querystring or header)"
    ]
