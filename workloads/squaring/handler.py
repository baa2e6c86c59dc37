"""Squaring worker: squares the ``number`` in the event, exactly.

The Lambda bundle root is this folder, so the handler is ``handler.handler`` and this module
imports only the standard library and Powertools.

Accepted values for ``event["number"]`` (from a REST path parameter, a JSON body or a GraphQL
``String`` argument):

* ``int`` (not ``bool``): kept as ``int``, any size.
* a string of ASCII decimal digits with an optional sign (``"12"``, ``"-3"``, ``"+7"``,
  surrounding whitespace ignored): parsed to ``int``, any size.
* a string with a decimal point and/or an exponent (``"1.5"``, ``".5"``, ``"1e3"``): parsed to
  ``decimal.Decimal``. Exponent forms stay ``Decimal`` even when integral (``"1e3"`` squares
  to ``Decimal("1E+6")``): turning them into ``int`` would let ``"1e999999"`` expand into a
  million-digit integer.
* ``float`` (a JSON number with a fraction or exponent): converted with ``Decimal(repr(value))``
  so ``0.1`` is ``Decimal("0.1")`` and squares to ``Decimal("0.01")``.
* ``decimal.Decimal``: kept (finite values only).

Rejected with :class:`NumberValidationError`: an event that is not a dict, has no ``number``
key or is over 1 MiB of JSON; booleans, ``None``, lists, dicts; NaN and infinities in any
spelling; and any other string, including hex (``"0x10"``), underscores (``"1_000"``) and
non-ASCII digits, which Python's ``int`` would accept but an HTTP API should not guess at.

Squares are exact: ``int * int``, and ``Decimal`` products computed with enough precision for
every digit. Lambda's runtime serializes ``Decimal`` as a JSON number.
"""

from __future__ import annotations

import json
import re
import reprlib
import sys
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
)
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "MAX_EVENT_BYTES",
    "NUMBER_KEY",
    "Number",
    "NumberValidationError",
    "digit_count",
    "event_size",
    "handler",
    "parse_event",
    "parse_number",
    "square",
]

# Huge integer strings must parse (and their squares serialize): lift CPython's 4300-digit
# guard once, at import, before the runtime unmarshals the first event.
sys.set_int_max_str_digits(0)

NUMBER_KEY = "number"
MAX_EVENT_BYTES = 1_048_576
"""Largest accepted event, measured as ``len(json.dumps(event).encode())``."""
REPR_LIMIT = 40

Number = int | Decimal

_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

_repr = reprlib.Repr()
_repr.maxstring = REPR_LIMIT
_repr.maxlong = REPR_LIMIT
_repr.maxother = REPR_LIMIT

logger = Logger(service="squaring")


class NumberValidationError(ValueError):
    """The event does not carry a number this worker can square.

    The message starts with the class name and ``": "`` so that API Gateway selection patterns,
    which see only ``errorMessage``, can match ``.*ValidationError: .*``.

    Parameters
    ----------
    detail : str
        What was wrong, with a short repr of the bad value.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"{type(self).__name__}: {detail}")


def short_repr(value: Any) -> str:
    """Return a repr of ``value`` of at most about ``REPR_LIMIT`` characters."""
    text = _repr.repr(value)
    return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 3] + "..."


def event_size(event: Any) -> int:
    """Return the size in bytes of ``event`` as JSON (``json.dumps`` defaults).

    Values JSON cannot encode count as their repr, so a stray object cannot crash the check.

    Raises
    ------
    NumberValidationError
        If the event cannot be encoded at all (circular or too deeply nested).
    """
    try:
        text = json.dumps(event, default=repr)
    except (ValueError, RecursionError) as error:
        raise NumberValidationError(f"event is not encodable as JSON ({error})") from None
    # json.dumps escapes non-ASCII (ensure_ascii), so characters are bytes.
    return len(text)


def parse_number(value: Any) -> Number:
    """Parse one accepted ``number`` value into an ``int`` or a finite ``Decimal``.

    Parameters
    ----------
    value : Any
        The raw ``event["number"]``.

    Returns
    -------
    int | Decimal
        ``int`` for integers and integer strings, ``Decimal`` for everything else.

    Raises
    ------
    NumberValidationError
        If ``value`` is not one of the accepted forms described in the module docstring.
    """
    if isinstance(value, bool):
        raise NumberValidationError(f"{value!r} is a boolean, not a number")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite(Decimal(repr(value)), value)
    if isinstance(value, Decimal):
        return _finite(value, value)
    if isinstance(value, str):
        return _parse_string(value)
    raise NumberValidationError(
        f"{short_repr(value)} is a {type(value).__name__}, expected a number or numeric string"
    )


def _parse_string(value: str) -> Number:
    text = value.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        try:
            return Decimal(text)
        except InvalidOperation:
            raise NumberValidationError(f"{short_repr(value)} is out of range") from None
    try:
        loose = Decimal(text)
    except InvalidOperation:
        loose = None
    if loose is not None and not loose.is_finite():
        raise NumberValidationError(f"{short_repr(value)} is not a finite number")
    raise NumberValidationError(
        f"{short_repr(value)} is not a number (expected decimal digits, optional sign, "
        "decimal point and exponent)"
    )


def _finite(number: Decimal, original: Any) -> Decimal:
    if not number.is_finite():
        raise NumberValidationError(f"{short_repr(original)} is not a finite number")
    return number


def square(number: Number) -> Number:
    """Return ``number * number`` exactly.

    Raises
    ------
    NumberValidationError
        If a ``Decimal``'s square falls outside the largest exponent range ``decimal`` supports.
    """
    if isinstance(number, int):
        return number * number
    precision = 2 * len(number.as_tuple().digits)
    context = Context(
        prec=precision,
        Emax=MAX_EMAX,
        Emin=MIN_EMIN,
        traps=[InvalidOperation, Overflow, Underflow, Inexact, Rounded],
    )
    try:
        return context.multiply(number, number)
    except (Overflow, Underflow):
        raise NumberValidationError(
            f"{short_repr(number)} is too large or small to square"
        ) from None


def parse_event(event: Any) -> Number:
    """Check the event's shape and size and return its parsed ``number``.

    Raises
    ------
    NumberValidationError
        If the event is not a dict, is over ``MAX_EVENT_BYTES`` or has no ``number`` key, or
        the number is rejected by :func:`parse_number`.
    """
    if not isinstance(event, dict):
        raise NumberValidationError(
            f"event must be an object with a {NUMBER_KEY!r} key, got {short_repr(event)}"
        )
    if NUMBER_KEY not in event:
        raise NumberValidationError(
            f"event has no {NUMBER_KEY!r} key (keys: {short_repr(sorted(map(str, event)))})"
        )
    size = event_size(event)
    if size > MAX_EVENT_BYTES:
        raise NumberValidationError(
            f"event is {size} bytes of JSON, over the {MAX_EVENT_BYTES}-byte limit "
            f"({NUMBER_KEY}: {short_repr(event[NUMBER_KEY])})"
        )
    return parse_number(event[NUMBER_KEY])


def digit_count(number: Number) -> int:
    """Return how many significant digits ``number`` has (``0`` counts as one)."""
    if isinstance(number, int):
        return len(str(abs(number)))
    return len(number.as_tuple().digits)


@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, Number]:
    """Square ``event["number"]``.

    Returns
    -------
    dict
        ``{"number": n, "square": n * n}`` with ``int`` or ``Decimal`` values.

    Raises
    ------
    NumberValidationError
        If the event does not carry an acceptable number.
    """
    try:
        number = parse_event(event)
        result = square(number)
    except NumberValidationError as error:
        logger.warning("rejected", extra={"reason": str(error)})
        raise
    logger.info(
        "squared",
        extra={"digits": digit_count(number), "kind": type(number).__name__.lower()},
    )
    return {"number": number, "square": result}
