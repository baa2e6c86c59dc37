"""appsync-api-key-expiry: API keys expire 1 to 365 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.cloud.capture import Capture
from policy import api_keys
from policy.api_keys import expiry_problem
from tests.policy.adapter import changed, policy_named, replacing, resource_args, run

POLICY = policy_named("appsync-api-key-expiry")
API_KEY = "aws:appsync/apiKey:ApiKey"
NOW = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_example_stacks_pass(example_stack: Capture):
    assert run(POLICY, example_stack) == []


def test_devs_key_is_checked_and_within_the_window(dev: Capture):
    expires = dev.named(API_KEY, "api-graphql").inputs["expires"]
    assert expiry_problem(expires, datetime.now(UTC)) is None


def test_prod_has_no_api_key(prod: Capture):
    assert prod.of_type(API_KEY) == []


def test_a_key_expiring_in_400_days_is_named(dev: Capture):
    key = changed(
        dev.named(API_KEY, "api-graphql"), expires=_stamp(datetime.now(UTC) + timedelta(400))
    )
    violations = run(POLICY, replacing(dev, key))
    assert len(violations) == 1
    assert violations[0].message.startswith("aws:appsync/apiKey:ApiKey api-graphql: expires ")
    assert "days ahead; AppSync allows at most 365" in violations[0].message


@pytest.mark.parametrize(
    ("expires", "problem"),
    [
        (_stamp(NOW + timedelta(days=365)), None),
        (_stamp(NOW + timedelta(days=2)), None),
        (None, None),  # AppSync's default: 7 days
        (_stamp(NOW + timedelta(days=366)), "366 days ahead; AppSync allows at most 365"),
        (_stamp(NOW + timedelta(hours=5)), "less than a day ahead"),
        (_stamp(NOW - timedelta(days=3)), "less than a day ahead"),
        ("next tuesday", "'next tuesday' is not an RFC3339 time"),
        ("2027-01-01T00:00:00", "has no UTC offset"),
    ],
)
def test_the_window(expires, problem):
    found = expiry_problem(expires, NOW)
    assert (found is None) if problem is None else (problem in found)


def test_the_policy_judges_expires_from_its_clock():
    found: list[str] = []
    expires = _stamp(NOW + timedelta(days=500))
    args = resource_args(API_KEY, "k", {"expires": expires})
    api_keys.validate(args, lambda message, urn=None: found.append(message), clock=lambda: NOW)
    assert found == [
        f"{API_KEY} k: expires {expires} is 500 days ahead; AppSync allows at most 365"
    ]
