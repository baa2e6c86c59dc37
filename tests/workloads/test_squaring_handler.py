"""Tests for the squaring worker's Lambda handler (workloads/squaring/handler.py)."""

from __future__ import annotations

import importlib.util
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from awslambdaric.lambda_runtime_marshaller import to_json

if TYPE_CHECKING:
    from collections.abc import Iterator

HANDLER_PATH = Path(__file__).resolve().parents[2] / "workloads" / "squaring" / "handler.py"
ERROR_PREFIX = "NumberValidationError: "
# 5000 nines, past CPython's default 4300-digit str/int guard, which only the handler lifts.
# Expected values are built without that conversion: (10**k - 1)**2 = 9..98 0..01.
HUGE_DIGITS = "9" * 5000
HUGE_INT = 10**5000 - 1
HUGE_SQUARE_TEXT = "9" * 4999 + "8" + "0" * 4999 + "1"


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes Powertools' ``inject_lambda_context`` reads."""

    function_name: str = "squaring-worker"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:squaring-worker"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
def squaring() -> ModuleType:
    """The handler module, loaded by file path as the Lambda runtime would (bundle root)."""
    spec = importlib.util.spec_from_file_location("squaring_handler", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def log_stream(squaring: ModuleType) -> Iterator[io.StringIO]:
    """Capture the handler's structured log lines for one test."""
    stream = io.StringIO()
    previous = squaring.logger.registered_handler.setStream(stream)
    yield stream
    squaring.logger.registered_handler.setStream(previous)


def invoke(module: ModuleType, event: Any) -> Any:
    return module.handler(event, FakeLambdaContext())


@pytest.mark.parametrize(
    ("value", "number", "square"),
    [
        pytest.param("12", 12, 144, id="int-string"),
        pytest.param("-3", -3, 9, id="negative-int-string"),
        pytest.param("0", 0, 0, id="zero-string"),
        pytest.param("+7", 7, 49, id="plus-signed-string"),
        pytest.param(" 5 ", 5, 25, id="whitespace-trimmed"),
        pytest.param(
            "123456789012345678901234567890",
            123456789012345678901234567890,
            123456789012345678901234567890**2,
            id="int-string-beyond-64-bits",
        ),
        pytest.param(HUGE_DIGITS, HUGE_INT, HUGE_INT**2, id="5000-digit-string"),
        pytest.param(12, 12, 144, id="json-int"),
        pytest.param(-4, -4, 16, id="json-negative-int"),
        pytest.param("1.5", Decimal("1.5"), Decimal("2.25"), id="decimal-string"),
        pytest.param("-2.5", Decimal("-2.5"), Decimal("6.25"), id="negative-decimal-string"),
        pytest.param(0.1, Decimal("0.1"), Decimal("0.01"), id="json-float-0.1"),
        pytest.param(1.5, Decimal("1.5"), Decimal("2.25"), id="json-float"),
        pytest.param("1e3", Decimal("1e3"), Decimal("1e6"), id="exponent-string"),
        pytest.param(Decimal("0.3"), Decimal("0.3"), Decimal("0.09"), id="decimal-value"),
    ],
)
def test_handler_squares_accepted_numbers_exactly(
    squaring: ModuleType, value: Any, number: Any, square: Any
) -> None:
    result = invoke(squaring, {"number": value})

    assert result == {"number": number, "square": square}
    assert type(result["number"]) is type(number)
    assert type(result["square"]) is type(square)


def test_handler_ignores_other_event_keys(squaring: ModuleType) -> None:
    result = invoke(squaring, {"number": "6", "streamId": "abc", "extra": [1, 2]})

    assert result == {"number": 6, "square": 36}


def test_decimal_square_keeps_every_digit(squaring: ModuleType) -> None:
    text = "123456789012345678901234567890.123456789"

    result = invoke(squaring, {"number": text})

    unscaled = int(text.replace(".", "")) ** 2
    assert result["square"] == Decimal(f"{unscaled}E-18")
    assert str(result["square"]) == (
        "15241578753238836750495351562566681945005334557625361987875.019051998750190521"
    )


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param({}, "no 'number' key", id="missing-key"),
        pytest.param({"num": 2}, "no 'number' key", id="misspelled-key"),
        pytest.param([{"number": 2}], "must be an object", id="event-is-list"),
        pytest.param("12", "must be an object", id="event-is-string"),
        pytest.param(None, "must be an object", id="event-is-none"),
        pytest.param({"number": "abc"}, "'abc' is not a number", id="letters"),
        pytest.param({"number": ""}, "'' is not a number", id="empty-string"),
        pytest.param({"number": "  "}, "'  ' is not a number", id="blank-string"),
        pytest.param({"number": "0x10"}, "'0x10' is not a number", id="hex"),
        pytest.param({"number": "1_000"}, "'1_000' is not a number", id="underscores"),
        pytest.param({"number": "\u0661\u0662"}, "is not a number", id="non-ascii-digits"),
        pytest.param({"number": "1.2.3"}, "'1.2.3' is not a number", id="two-points"),
        pytest.param({"number": "NaN"}, "'NaN' is not a finite number", id="nan-string"),
        pytest.param({"number": "nan"}, "'nan' is not a finite number", id="nan-lower"),
        pytest.param({"number": "sNaN"}, "'sNaN' is not a finite number", id="snan-string"),
        pytest.param({"number": "inf"}, "'inf' is not a finite number", id="inf-string"),
        pytest.param(
            {"number": "-Infinity"}, "'-Infinity' is not a finite number", id="minus-infinity"
        ),
        pytest.param({"number": float("nan")}, "nan is not a finite number", id="nan-float"),
        pytest.param({"number": float("inf")}, "inf is not a finite number", id="inf-float"),
        pytest.param(
            {"number": float("-inf")}, "-inf is not a finite number", id="minus-inf-float"
        ),
        pytest.param(
            {"number": Decimal("NaN")}, "Decimal('NaN') is not a finite number", id="nan-decimal"
        ),
        pytest.param({"number": True}, "True is a boolean", id="true"),
        pytest.param({"number": False}, "False is a boolean", id="false"),
        pytest.param({"number": None}, "None is a NoneType", id="none"),
        pytest.param({"number": [1]}, "[1] is a list", id="list"),
        pytest.param({"number": {"n": 1}}, "{'n': 1} is a dict", id="dict"),
        pytest.param({"number": "1e99999999999999999999"}, "is out of range", id="huge-exponent"),
        pytest.param(
            {"number": "1e999999999999999999"}, "too large or small to square", id="overflow"
        ),
        pytest.param(
            {"number": "1e-999999999999999999"}, "too large or small to square", id="underflow"
        ),
    ],
)
def test_handler_rejects_bad_input_with_prefixed_message(
    squaring: ModuleType, event: Any, problem: str
) -> None:
    with pytest.raises(squaring.NumberValidationError) as caught:
        invoke(squaring, event)

    assert type(caught.value).__name__ == "NumberValidationError"
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert message.startswith(ERROR_PREFIX)
    assert problem in message


def test_rejection_message_truncates_long_values(squaring: ModuleType) -> None:
    with pytest.raises(squaring.NumberValidationError) as caught:
        invoke(squaring, {"number": "x" * 10_000})

    message = str(caught.value)
    assert message.startswith(ERROR_PREFIX)
    assert "is not a number" in message
    assert len(message) < 200


def test_error_prefix_follows_subclass_name(squaring: ModuleType) -> None:
    class OtherValidationError(squaring.NumberValidationError):
        pass

    assert str(OtherValidationError("bad")) == "OtherValidationError: bad"


def test_handler_rejects_event_over_one_mebibyte(squaring: ModuleType) -> None:
    limit = squaring.MAX_EVENT_BYTES
    padding = limit - len(json.dumps({"number": "1", "pad": ""})) + 1
    event = {"number": "1", "pad": "p" * padding}
    assert len(json.dumps(event).encode()) == limit + 1

    with pytest.raises(squaring.NumberValidationError) as caught:
        invoke(squaring, event)

    message = str(caught.value)
    assert message.startswith(ERROR_PREFIX)
    assert f"{limit + 1} bytes" in message
    assert f"{limit}-byte limit" in message


def test_handler_accepts_event_of_exactly_one_mebibyte(squaring: ModuleType) -> None:
    limit = squaring.MAX_EVENT_BYTES
    padding = limit - len(json.dumps({"number": "1", "pad": ""}))
    event = {"number": "1", "pad": "p" * padding}
    assert len(json.dumps(event).encode()) == limit

    assert invoke(squaring, event) == {"number": 1, "square": 1}


def test_event_size_counts_non_ascii_as_json_escapes(squaring: ModuleType) -> None:
    event = {"number": "1", "note": "\u00e9"}

    assert squaring.event_size(event) == len(json.dumps(event).encode())


def test_event_size_rejects_circular_event(squaring: ModuleType) -> None:
    event: dict[str, Any] = {"number": "1"}
    event["self"] = event

    with pytest.raises(squaring.NumberValidationError, match=r"^NumberValidationError: .*JSON"):
        squaring.event_size(event)


@pytest.mark.parametrize(
    ("event", "expected_json"),
    [
        pytest.param({"number": "12"}, '{"number": 12, "square": 144}', id="int"),
        pytest.param(
            {"number": HUGE_DIGITS},
            f'{{"number": {HUGE_DIGITS}, "square": {HUGE_SQUARE_TEXT}}}',
            id="huge-int",
        ),
        pytest.param({"number": "1.5"}, '{"number": 1.5, "square": 2.25}', id="decimal"),
        pytest.param({"number": 0.1}, '{"number": 0.1, "square": 0.01}', id="float"),
        pytest.param({"number": "1e3"}, '{"number": 1E+3, "square": 1E+6}', id="exponent"),
    ],
)
def test_result_serializes_through_lambda_runtime_marshaller(
    squaring: ModuleType, event: dict[str, Any], expected_json: str
) -> None:
    text = to_json(invoke(squaring, event))

    assert text == expected_json
    assert json.loads(text)["square"] == json.loads(expected_json)["square"]


def test_handler_logs_digit_count_not_the_number(
    squaring: ModuleType, log_stream: io.StringIO
) -> None:
    invoke(squaring, {"number": HUGE_DIGITS})

    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert len(lines) == 1
    assert lines[0]["digits"] == 5000
    assert lines[0]["kind"] == "int"
    assert lines[0]["service"] == "squaring"
    assert lines[0]["function_request_id"] == FakeLambdaContext.aws_request_id
    assert HUGE_DIGITS[:100] not in log_stream.getvalue()


def test_handler_logs_one_line_for_a_rejection(
    squaring: ModuleType, log_stream: io.StringIO
) -> None:
    with pytest.raises(squaring.NumberValidationError):
        invoke(squaring, {"number": "abc"})

    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert len(lines) == 1
    assert lines[0]["level"] == "WARNING"
    assert lines[0]["reason"].startswith(ERROR_PREFIX)


@pytest.mark.parametrize(
    ("number", "digits"),
    [(0, 1), (-9, 1), (10, 2), (Decimal("1.50"), 3), (Decimal("1E+3"), 1)],
)
def test_digit_count(squaring: ModuleType, number: Any, digits: int) -> None:
    assert squaring.digit_count(number) == digits


def test_module_imports_nothing_from_the_project() -> None:
    source = HANDLER_PATH.read_text()

    for forbidden in ("import workloads", "from workloads", "import pulumi", "from pulumi"):
        assert forbidden not in source
