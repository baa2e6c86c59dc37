"""violations(): one value against its botocore shape."""

from __future__ import annotations

import pytest

from policy.aws_rules.model import Target, shape_at, violations

LAMBDA = Target("lambda", "CreateFunction")


def _check(member: str, value: object, target: Target = LAMBDA) -> list[str]:
    shape = shape_at(target.root(), member)
    return list(violations(value, shape, "prop", f"{target.name}'s {member}"))


@pytest.mark.parametrize(
    ("member", "value", "expected"),
    [
        ("MemorySize", 128.0, []),
        ("MemorySize", 127.0, ["prop 127 is below CreateFunction's MemorySize minimum 128"]),
        (
            "MemorySize",
            128.5,
            ["prop 128.5 is not an integer, as CreateFunction's MemorySize requires"],
        ),
        (
            "MemorySize",
            "128",
            ["prop '128' is not a number, as CreateFunction's MemorySize requires"],
        ),
        (
            "MemorySize",
            True,
            ["prop True is not a number, as CreateFunction's MemorySize requires"],
        ),
        ("Publish", "true", ["prop 'true' is not a boolean, as CreateFunction's Publish requires"]),
        ("Handler", "", ["prop '' does not match CreateFunction's Handler pattern [^\\s]+"]),
        (
            "Handler",
            "h" * 129,
            [f"prop {'h' * 40!r}… is longer than CreateFunction's Handler maximum length 128"],
        ),
        ("Architectures", "arm64", []),  # pulumi-aws's flattened single item
        (
            "Architectures",
            [],
            ["prop has 0 items; CreateFunction's Architectures takes at least 1"],
        ),
        ("TracingConfig.Mode", "Active", []),
        (
            "TracingConfig.Mode",
            "active",
            [
                "prop 'active' is not one of CreateFunction's TracingConfig.Mode values "
                "(Active, PassThrough)"
            ],
        ),
    ],
)
def test_values_against_their_shapes(member: str, value: object, expected: list[str]):
    assert _check(member, value) == expected


def test_a_map_checks_its_keys_and_values():
    problems = _check("Environment.Variables", {"GOOD": "x", "bad-key": "y"})
    assert problems == [
        "prop key 'bad-key' does not match CreateFunction's Environment.Variables key pattern "
        "[a-zA-Z]([a-zA-Z0-9_])+"
    ]
    assert _check("Environment.Variables", "A=B") == [
        "prop 'A=B' is not a map, as CreateFunction's Environment.Variables requires"
    ]


def test_java_style_unicode_classes_in_patterns_are_understood():
    tags = Target("lambda", "CreateFunction")
    assert _check("Tags", {"team": "café"}, tags) == []
    assert _check("Tags", {"team": "a\u0007b"}, tags)[0].startswith(
        "prop.team 'a\\x07b' does not match"
    )


def test_a_long_enum_is_summarised_with_the_closest_values():
    assert _check("Runtime", "pyton3.13") == [
        "prop 'pyton3.13' is not one of CreateFunction's Runtime values (52 values; closest: "
        "python3.13, python3.15, python3.14)"
    ]
