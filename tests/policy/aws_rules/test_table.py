"""The mapping and the documented rules stay in step with the installed botocore and cfn-lint."""

from __future__ import annotations

import re

import pytest
import regex

from components.limits import LOG_RETENTION_DAYS as COMPONENT_RETENTION_DAYS
from policy.aws_rules.documented import DOCUMENTED, LOG_RETENTION_DAYS, Prose, Range
from policy.aws_rules.model import Target, shape_at
from policy.aws_rules.runtimes import lifecycle
from policy.aws_rules.table import RULES

FIELDS = [
    (type_token, call.target, prop, member)
    for type_token, mapped in RULES.items()
    for call in mapped.calls
    for prop, member in call.fields.items()
]
PROSE = [
    (type_token, rule.source)
    for type_token, rules in DOCUMENTED.items()
    for rule in rules
    if isinstance(rule.source, Prose)
]


@pytest.mark.parametrize(("type_token", "target", "prop", "member"), FIELDS)
def test_every_mapped_member_exists_and_its_pattern_compiles(type_token, target, prop, member):
    shape = shape_at(target.root(), member)
    leaf = shape.member if shape.type_name == "list" else shape
    pattern = leaf.metadata.get("pattern")
    if pattern:
        regex.compile(pattern)
    assert re.fullmatch(r"[a-z][A-Za-z0-9]*(\[\])?(\.[a-z][A-Za-z0-9]*(\[\])?)*", prop), (
        f"{type_token}: {prop} is not a camelCase input path"
    )


def test_a_member_that_does_not_exist_is_refused():
    with pytest.raises(KeyError, match="has no member MemorySizeMb"):
        shape_at(Target("lambda", "CreateFunction").root(), "MemorySizeMb")


def test_the_autonamed_inputs_are_mapped_inputs():
    for type_token, mapped in RULES.items():
        mapped_props = {prop for call in mapped.calls for prop in call.fields}
        assert mapped.autonamed <= mapped_props | {"name"}, type_token


@pytest.mark.parametrize(("type_token", "source"), PROSE, ids=[f"{t}-{s.member}" for t, s in PROSE])
def test_every_documented_rule_is_still_in_botocores_words(type_token: str, source: Prose):
    assert source.quote in source.text()


def test_the_sqs_ranges_name_attributes_that_sqs_has():
    enum = Target("sqs", "CreateQueue").root().members["Attributes"].key.enum
    ranges = [r for r in DOCUMENTED["aws:sqs/queue:Queue"] if isinstance(r, Range)]
    assert len(ranges) == 6
    for rule in ranges:
        assert rule.what.removeprefix("SQS's ") in enum


def test_the_log_retention_values_are_the_documented_ones_and_the_components_ones():
    prose = next(r.source for r in DOCUMENTED["aws:cloudwatch/logGroup:LogGroup"])
    documented = [
        int(n)
        for n in re.findall(r"\d+", prose.text().split("Possible values are:")[1].split(".")[0])
    ]
    assert list(LOG_RETENTION_DAYS) == documented == list(COMPONENT_RETENTION_DAYS)


def test_cfn_lint_carries_the_runtime_schedule():
    schedule = lifecycle()
    assert schedule["python2.7"]["create-block"] == "2021-07-15"
    assert "python3.13" in schedule
