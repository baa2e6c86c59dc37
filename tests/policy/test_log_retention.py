"""log-groups-have-retention: every log group's retentionInDays is set and above 0."""

from __future__ import annotations

import pytest

from local.cloud.capture import Capture
from tests.policy.adapter import changed, policy_named, replacing, run

POLICY = policy_named("log-groups-have-retention")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_the_example_stacks_pass(example_stack: Capture):
    assert example_stack.of_type(LOG_GROUP), "no log group to check"
    assert run(POLICY, example_stack) == []


@pytest.mark.parametrize(("retention", "shown"), [(None, "is not set"), (0.0, "is 0.0")])
def test_a_log_group_that_keeps_logs_forever_is_named(dev: Capture, retention, shown):
    group = dev.named(LOG_GROUP, "slack-front")
    violations = run(POLICY, replacing(dev, changed(group, retentionInDays=retention)))
    assert [v.message for v in violations] == [
        f"aws:cloudwatch/logGroup:LogGroup slack-front: retentionInDays {shown}, so its logs "
        "never expire; set a retention (e.g. 14 or 90 days)"
    ]
