"""Subscription filters: every enhanced-filter operator AppSync documents, groups, arguments."""

from __future__ import annotations

import pytest

from local.appsync.filters import (
    OPERATORS,
    FilterError,
    arguments_match,
    check_filter,
    filter_matches,
)

TICKET = {
    "id": "t-1",
    "severity": 7,
    "priority": "high",
    "title": "Disk almost full",
    "tags": ["ops", "disk"],
    "group": {"name": "infra", "size": 3},
}


def single(field: str, operator: str, value: object) -> list[list[dict]]:
    return check_filter(
        {"filterGroup": [{"filters": [{"fieldName": field, "operator": operator, "value": value}]}]}
    )


CASES = [
    # (field, operator, value, passes)
    ("priority", "eq", "high", True),
    ("priority", "eq", "low", False),
    ("severity", "ne", 3, True),
    ("severity", "ne", 7, False),
    ("severity", "lt", 8, True),
    ("severity", "lt", 7, False),
    ("severity", "le", 7, True),
    ("severity", "le", 6, False),
    ("severity", "gt", 6, True),
    ("severity", "gt", 7, False),
    ("severity", "ge", 7, True),
    ("severity", "ge", 8, False),
    ("title", "contains", "full", True),
    ("title", "contains", "empty", False),
    ("tags", "contains", "disk", True),
    ("tags", "contains", "network", False),
    ("title", "notContains", "empty", True),
    ("tags", "notContains", "ops", False),
    ("title", "beginsWith", "Disk", True),
    ("title", "beginsWith", "full", False),
    ("priority", "in", ["high", "highest"], True),
    ("priority", "in", ["low"], False),
    ("priority", "notIn", ["low", "lowest"], True),
    ("priority", "notIn", ["high"], False),
    ("severity", "between", [5, 7], True),
    ("severity", "between", [8, 10], False),
    ("tags", "containsAny", ["network", "disk"], True),
    ("tags", "containsAny", ["network", "cpu"], False),
    ("group.name", "eq", "infra", True),
    ("group.size", "gt", 5, False),
    ("missing", "eq", "x", False),
    ("missing", "ne", "x", True),
    ("missing", "gt", 1, False),
    ("title", "gt", 3, False),
]


@pytest.mark.parametrize(("field", "operator", "value", "passes"), CASES)
def test_each_operator_decides_as_documented(field, operator, value, passes):
    assert filter_matches(single(field, operator, value), TICKET) is passes


def test_the_table_covers_every_operator_appsync_documents():
    assert {operator for _, operator, _, _ in CASES} == set(OPERATORS)
    assert set(OPERATORS) == {
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "contains",
        "notContains",
        "beginsWith",
        "in",
        "notIn",
        "between",
        "containsAny",
    }


def test_filters_of_one_group_are_anded_and_groups_are_ored():
    groups = check_filter(
        {
            "filterGroup": [
                {
                    "filters": [
                        {"fieldName": "priority", "operator": "eq", "value": "high"},
                        {"fieldName": "severity", "operator": "gt", "value": 9},
                    ]
                },
                {"filters": [{"fieldName": "tags", "operator": "contains", "value": "ops"}]},
            ]
        }
    )

    assert filter_matches(groups, TICKET)  # the second group holds
    assert not filter_matches(groups, {**TICKET, "tags": []})  # neither does
    assert filter_matches(groups, {**TICKET, "tags": [], "severity": 10})  # the first does


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"filters": []}, "filterGroup"),
        ({"filterGroup": [{"filters": []}]}, "non-empty"),
        (
            {"filterGroup": [{"filters": [{"fieldName": "a", "operator": "like", "value": 1}]}]},
            "unknown subscription filter operator 'like'",
        ),
        (
            {"filterGroup": [{"filters": [{"fieldName": "a", "operator": "in", "value": 1}]}]},
            "in takes a list",
        ),
        (
            {
                "filterGroup": [
                    {"filters": [{"fieldName": "a", "operator": "between", "value": [1]}]}
                ]
            },
            "two values",
        ),
        (
            {"filterGroup": [{"filters": [{"fieldName": "a", "operator": "eq", "value": 1}]}] * 11},
            "at most 10 filter groups",
        ),
        (
            {"filterGroup": [{"filters": [{"fieldName": "a", "operator": "eq", "value": 1}] * 6}]},
            "at most 5 filters",
        ),
        (
            {
                "filterGroup": [
                    {"filters": [{"fieldName": "a", "operator": "in", "value": list(range(6))}]}
                ]
            },
            "at most 5 values",
        ),
    ],
)
def test_a_filter_appsync_would_refuse_is_refused_saying_why(document, complaint):
    with pytest.raises(FilterError, match=complaint):
        check_filter(document)


def test_argument_filtering_needs_every_given_argument_to_equal_the_top_level_field():
    assert arguments_match({"streamId": "a"}, {"streamId": "a", "seq": 1})
    assert not arguments_match({"streamId": "a"}, {"streamId": "b"})
    assert not arguments_match({"streamId": "a"}, {"seq": 1})
    assert arguments_match({"streamId": None}, {"streamId": "b"})  # not given: no filter
    assert arguments_match({"seq": "1"}, {"seq": 1})  # an ID argument against a number
