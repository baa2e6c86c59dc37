"""AppSync's scalars, with the parsing and serializing AppSync documents for each.

``AWSJSON`` is the one that changes values: a JSON string argument reaches the resolver parsed
(maps, lists, scalars), and a value a resolver returns is sent as a JSON string. The others are
strings (or, for ``AWSTimestamp``, an integer) checked against their format.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlparse

from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, StringValueNode, ValueNode
from graphql.language import IntValueNode

__all__ = ["install_appsync_scalars"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{2,}[0-9]$")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise GraphQLError(f"Unable to parse {text!r} as valid JSON.") from None


def _date(text: str) -> str:
    date.fromisoformat(text.removesuffix("Z"))
    return text


def _time(text: str) -> str:
    time.fromisoformat(text.removesuffix("Z"))
    return text


def _datetime(text: str) -> str:
    if "T" not in text:
        raise ValueError("no time part")
    datetime.fromisoformat(text.replace("Z", "+00:00"))
    return text


def _email(text: str) -> str:
    if not _EMAIL.match(text):
        raise ValueError("not an e-mail address")
    return text


def _url(text: str) -> str:
    parts = urlparse(text)
    if not (parts.scheme and (parts.netloc or parts.scheme == "mailto")):
        raise ValueError("not a URL")
    return text


def _phone(text: str) -> str:
    if not _PHONE.match(text):
        raise ValueError("not a phone number")
    return text


def _ip(text: str) -> str:
    ipaddress.ip_network(text, strict=False)
    return text


_STRING_FORMATS: dict[str, Callable[[str], Any]] = {
    "AWSDate": _date,
    "AWSTime": _time,
    "AWSDateTime": _datetime,
    "AWSEmail": _email,
    "AWSURL": _url,
    "AWSPhone": _phone,
    "AWSIPAddress": _ip,
    "AWSJSON": _json,
}


def install_appsync_scalars(schema: GraphQLSchema) -> GraphQLSchema:
    """Give the schema's AppSync scalars their behaviour (in place); returns the schema."""
    for name, check in _STRING_FORMATS.items():
        scalar = schema.type_map.get(name)
        if isinstance(scalar, GraphQLScalarType):
            serialize = _serialize_json if name == "AWSJSON" else _serialize_string
            _define(scalar, _string_parser(name, check), serialize)
    timestamp = schema.type_map.get("AWSTimestamp")
    if isinstance(timestamp, GraphQLScalarType):
        _define(timestamp, _timestamp, _timestamp, _timestamp_literal)
    return schema


def _define(
    scalar: GraphQLScalarType,
    parse: Callable[[Any], Any],
    serialize: Callable[[Any], Any],
    parse_literal: Callable[..., Any] | None = None,
) -> None:
    """Set a scalar's input and output coercion (graphql-core reads both spellings)."""
    scalar.parse_value = scalar.coerce_input_value = parse  # type: ignore[method-assign]
    scalar.parse_literal = parse_literal or _literal_parser(parse)  # type: ignore[method-assign]
    scalar.coerce_input_literal = None
    scalar.serialize = scalar.coerce_output_value = serialize  # type: ignore[method-assign]


def _string_parser(name: str, check: Callable[[str], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            raise GraphQLError(f"Expected type '{name}' but was '{type(value).__name__}'.")
        try:
            return check(value)
        except ValueError as error:
            raise GraphQLError(f"Invalid {name} value {value!r}: {error}") from None

    return parse


def _literal_parser(parse: Callable[[Any], Any]) -> Callable[..., Any]:
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if not isinstance(node, StringValueNode):
            raise GraphQLError(f"Expected a string literal, got {node.kind}.")
        return parse(node.value)

    return parse_literal


def _serialize_string(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _serialize_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _timestamp(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"Expected type 'AWSTimestamp' (epoch seconds), got {value!r}.")
    return value


def _timestamp_literal(node: ValueNode, _variables: Any = None) -> int:
    if not isinstance(node, IntValueNode):
        raise GraphQLError(f"Expected an integer literal, got {node.kind}.")
    return int(node.value)
