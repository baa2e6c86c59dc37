"""Function names as the Invoke API reads them: a name, a partial or full ARN, and a qualifier.

``FunctionName`` may be ``my-function``, ``123456789012:function:my-function`` or
``arn:aws:lambda:us-east-1:123456789012:function:my-function``, each optionally ending in
``:<qualifier>``; the ``Qualifier`` query parameter names one too. The patterns are botocore's
(the Lambda service model's ``Invoke`` input shape), so a name AWS would refuse is refused here.
The local functions have one version, ``$LATEST``, and no aliases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "FUNCTION_NAME_PATTERN",
    "LATEST",
    "QUALIFIER_PATTERN",
    "FunctionRef",
    "InvalidFunctionName",
    "InvalidFunctionReference",
    "QualifierMismatch",
    "parse_function_name",
]

LATEST = "$LATEST"
FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
QUALIFIER_PATTERN = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
"""botocore's patterns for ``Invoke``'s ``FunctionName`` (1 to 256 characters) and ``Qualifier``
(1 to 128)."""
_NAME_LENGTH = (1, 256)
_QUALIFIER_LENGTH = (1, 128)
_PARTS = re.compile(
    r"(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9-_\.]+)"
    r"(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
"""``FUNCTION_NAME_PATTERN`` with its parts named."""


class InvalidFunctionReference(ValueError):
    """A ``FunctionName`` or ``Qualifier`` AWS refuses before looking the function up."""

    error_type = "ValidationException"


class InvalidFunctionName(InvalidFunctionReference):
    """Outside botocore's pattern or length: a 400 ``ValidationException``, worded as AWS
    words a constraint failure."""

    def __init__(self, field: str, value: str, constraint: str) -> None:
        super().__init__(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: {constraint}"
        )


class QualifierMismatch(InvalidFunctionReference):
    """The name ends in one qualifier and ``Qualifier`` says another."""

    error_type = "InvalidParameterValueException"

    def __init__(self) -> None:
        super().__init__(
            "The derived qualifier from the function name does not match the specified qualifier."
        )


@dataclass(frozen=True)
class FunctionRef:
    """What a ``FunctionName`` (and ``Qualifier``) names."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


@lru_cache(maxsize=1024)  # every invocation names its function, most often the same few
def parse_function_name(value: str, qualifier: str | None = None) -> FunctionRef:
    """The function ``value`` names (``qualifier`` from the ``Qualifier`` parameter).

    Raises
    ------
    InvalidFunctionReference
        For a name or qualifier botocore's patterns refuse, or two qualifiers that disagree.
    """
    _check("functionName", value, FUNCTION_NAME_PATTERN, _NAME_LENGTH)
    if qualifier is not None:
        _check("qualifier", qualifier, QUALIFIER_PATTERN, _QUALIFIER_LENGTH)
    parts = _PARTS.fullmatch(value)
    assert parts is not None  # the same pattern as FUNCTION_NAME_PATTERN
    derived = parts["qualifier"]
    if qualifier is not None and derived is not None and qualifier != derived:
        raise QualifierMismatch()
    return FunctionRef(parts["name"], qualifier or derived, parts["region"], parts["account"])


def _check(field: str, value: str, pattern: str, length: tuple[int, int]) -> None:
    low, high = length
    if not low <= len(value) <= high:
        raise InvalidFunctionName(field, value, f"Member must have length between {low} and {high}")
    if not re.fullmatch(pattern, value):
        raise InvalidFunctionName(
            field, value, f"Member must satisfy regular expression pattern: {pattern}"
        )
