"""API Gateway mapping templates: VTL (airspeed's, compiled by ``vtl_compile``) with ``$input``,
``$util``, ``$context``.

The variables follow AWS's "Variables for data transformations" reference:

* ``$input.body`` is the raw payload; ``$input.json(path)`` returns a JSON *string* (so
  ``"n": $input.json('$.n')`` keeps a string quoted and a number bare); ``$input.path(path)``
  returns the *object* (a map, list, string, number or boolean) for further navigation.
  An empty payload reads as ``{}``. The JSONPath subset is ``$``, ``.name``, ``['name']`` and
  ``[index]``. JSON numbers keep every digit (big integers and decimals are never rounded).
* ``$input.params()`` is ``{path, querystring, header}``; ``$input.params(name)`` searches the
  path, then the query string, then the headers (headers case-insensitively: an assumption,
  HTTP header names are case-insensitive and HTTP/2 clients send them lower-cased) and gives
  ``""`` when the name is nowhere.
* ``$util``: ``escapeJavaScript`` (Apache Commons Lang rules, which AWS documents: quotes,
  backslash, slash, control characters and non-ASCII as ``\\uXXXX``; a single quote becomes
  ``\\'``), ``parseJson``, ``urlEncode``/``urlDecode`` (Java ``URLEncoder`` rules: space is
  ``+``), ``base64Encode``/``base64Decode``.
* ``$context``: whatever the gateway passes, with absent values rendered as ``""`` (as AWS
  renders an unauthenticated ``$context.identity.caller``), plus writable
  ``requestOverride.{header,path,querystring}`` and ``responseOverride.{status,header}``, read
  back after rendering. A status override outside 100 to 599 or not an integer is ignored.

Java-flavoured printing: a map prints ``{a=1, b=x}``, a list prints as compact JSON, a boolean
``true``/``false`` (what API Gateway's Velocity prints), so ``$input.path('$.flag')`` can be
written into JSON output.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote_plus

import airspeed

from local.apigateway.vtl_compile import Merge, compile_template

__all__ = [
    "MappingTemplateError",
    "Overrides",
    "RequestParams",
    "dumps",
    "loads",
    "render",
]

_INT_DIGITS = 4000
"""Longer integers are read as ``Decimal``: CPython refuses ``int`` from over 4300 digits."""


class MappingTemplateError(Exception):
    """A template that does not parse or fails while rendering, or a JSONPath it cannot read."""


@dataclass(frozen=True)
class RequestParams:
    """The method request's parameters as a template sees them."""

    path: Mapping[str, str] = field(default_factory=dict)
    querystring: Mapping[str, str] = field(default_factory=dict)
    header: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Overrides:
    """What the template wrote to ``$context.requestOverride`` / ``responseOverride``."""

    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)


def render(
    template: str,
    *,
    body: str,
    params: RequestParams,
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str] | None = None,
) -> tuple[str, Overrides]:
    """Render ``template`` for one request or response; ``body`` is what ``$input`` reads."""
    namespace = _Namespace(body, params, context, stage_variables)
    try:
        text = _compiled(template)(namespace)
    except airspeed.TemplateError as error:
        raise MappingTemplateError(str(error)) from None
    velocity_context = namespace.get("context")
    return text, Overrides() if velocity_context is None else _overrides(velocity_context)


def loads(text: str | bytes) -> Any:
    """Parse JSON as API Gateway reads payloads: numbers keep every digit.

    Raises ``ValueError`` for text that is not JSON, nested too deep for Python included.
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_int=_integer)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dumps(value: Any) -> str:
    """Compact JSON that writes ``Decimal`` numbers as numbers, digit for digit."""
    if isinstance(value, bool | _JavaBoolean):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


@lru_cache(maxsize=256)
def _compiled(template: str) -> Merge:
    return compile_template(template)


def _integer(text: str) -> int | Decimal:
    return int(text) if len(text) <= _INT_DIGITS else Decimal(text)


def _overrides(context: Mapping[str, Any]) -> Overrides:
    response = context["responseOverride"]
    status = response.get("status")
    valid = isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599
    return Overrides(
        status=status if valid else None,
        response_headers={str(k): str(v) for k, v in (response.get("header") or {}).items()},
        request_headers={
            str(k): str(v) for k, v in (context["requestOverride"].get("header") or {}).items()
        },
    )


class _Namespace(dict):
    """The template's variables, each made when the template first names it: most templates
    name one or two of them, and ``$context`` is a copy of the whole request context."""

    def __init__(
        self,
        body: str,
        params: RequestParams,
        context: Mapping[str, Any],
        stage_variables: Mapping[str, str] | None,
    ) -> None:
        super().__init__()
        self._body = body
        self._params = params
        self._context = context
        self._stage_variables = stage_variables

    def __missing__(self, name: str) -> Any:
        if name == "input":
            value: Any = _Input(self._body, self._params)
        elif name == "util":
            value = _Util()
        elif name == "context":
            value = _java_context(self._context)  # fresh containers: the caller's stay untouched
            value["requestOverride"] = _JavaMap(header={}, path={}, querystring={})
            value["responseOverride"] = _JavaMap(status=None, header=_JavaMap())
        elif name == "stageVariables":
            value = _JavaMap(self._stage_variables or {})
        else:
            raise KeyError(name)
        self[name] = value
        return value


class _Input:
    """``$input``: the payload and the method request's parameters."""

    def __init__(self, body: str, params: RequestParams) -> None:
        self._body = body
        self._params = params
        self._document: Any = _UNREAD

    @property
    def body(self) -> str:
        return self._body

    def json(self, path: str = "$") -> str:
        found = self._select(path)
        return "" if found is _MISSING else dumps(found)

    def path(self, path: str) -> Any:
        found = self._select(path)
        return "" if found is _MISSING or found is None else _java(found)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return _JavaMap(
                path=_JavaMap(self._params.path),
                querystring=_JavaMap(self._params.querystring),
                header=_JavaMap(self._params.header),
            )
        for source in (self._params.path, self._params.querystring):
            if name in source:
                return source[name]
        lowered = name.lower()
        for header, value in self._params.header.items():
            if header.lower() == lowered:
                return value
        return ""

    def _select(self, path: str) -> Any:
        if self._document is _UNREAD:
            try:
                self._document = loads(self._body) if self._body.strip() else {}
            except ValueError as error:
                raise MappingTemplateError(f"the payload is not JSON: {error}") from None
        return _json_path(self._document, path)


class _Util:
    """``$util``."""

    def escapeJavaScript(self, value: Any) -> str | None:
        if value is None:
            return None
        return _escape_javascript(str(value) if not isinstance(value, str) else value)

    def parseJson(self, text: str) -> Any:
        try:
            return _java(loads(text))
        except ValueError as error:
            raise MappingTemplateError(f"parseJson: {error}") from None

    def urlEncode(self, text: str) -> str:
        # java.net.URLEncoder: letters, digits and ".-*_" stay; space becomes "+".
        return quote(str(text), safe=" .-*_").replace("~", "%7E").replace(" ", "+")

    def urlDecode(self, text: str) -> str:
        return unquote_plus(str(text))

    def base64Encode(self, text: str) -> str:
        return base64.b64encode(str(text).encode()).decode()

    def base64Decode(self, text: str) -> str:
        return base64.b64decode(str(text)).decode(errors="replace")


_SIMPLE_ESCAPES = {
    "'": "\\'",
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\n": "\\n",
    "\t": "\\t",
    "\f": "\\f",
    "\r": "\\r",
}


_NOTHING_TO_ESCAPE = re.compile(r"[ !#-&(-.0-\[\]-~]*")
"""Printable ASCII but for the four characters of :data:`_SIMPLE_ESCAPES` in that range
(``'``, ``"``, ``\\``, ``/``): text made only of these is its own escape."""


def _escape_javascript(text: str) -> str:
    if _NOTHING_TO_ESCAPE.fullmatch(text):  # most parameters: a number, a word
        return text
    return text.translate(_JAVASCRIPT_ESCAPES)


class _JavaScriptEscapes(dict[int, str]):
    """``str.translate``'s table for commons-lang's ``escapeJavaScript``, which works on UTF-16
    units: a character outside the Basic Multilingual Plane is written as its two surrogates.
    Filled on first use of each character of that plane."""

    def __missing__(self, code: int) -> str:
        if code > 0xFFFF:
            units = chr(code).encode("utf-16-be")
            return f"\\u{units[0]:02X}{units[1]:02X}\\u{units[2]:02X}{units[3]:02X}"
        escaped = chr(code) if 0x20 <= code <= 0x7F else f"\\u{code:04X}"
        self[code] = escaped
        return escaped


_JAVASCRIPT_ESCAPES = _JavaScriptEscapes({ord(c): text for c, text in _SIMPLE_ESCAPES.items()})


_UNREAD = object()
_MISSING = object()
_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[\"([^\"]*)\"\]|\[(\d+)\]")


def _json_path(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``, or ``_MISSING`` when nothing is there."""
    path = path.strip()
    if not path.startswith("$"):
        raise MappingTemplateError(f"JSONPath {path!r} must start with '$'")
    position, value = 1, document
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            raise MappingTemplateError(
                f"JSONPath {path!r}: only $, .name, ['name'] and [index] are supported"
            )
        position = step.end()
        name = step.group(1) or step.group(2) or step.group(3)
        if step.group(4) is not None:
            index = int(step.group(4))
            if not isinstance(value, list) or index >= len(value):
                return _MISSING
            value = value[index]
        elif isinstance(value, Mapping) and name in value:
            value = value[name]
        else:
            return _MISSING
    return value


def _java_context(context: Mapping[str, Any]) -> _JavaMap:
    """``$context`` as templates see it: Java-style values, absent (None) ones as ``""``
    (within maps; list items stay as they are). Every container is a new one."""
    return _JavaMap({key: _context_value(value) for key, value in context.items()})


def _context_value(value: Any) -> Any:
    if value.__class__ is str:  # most values: answered before the slower Mapping check
        return value
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return _java_context(value)
    return _java(value)


def _java(value: Any) -> Any:
    """JSON values as API Gateway's Velocity sees them (maps, lists, booleans print Java-style)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _JavaBoolean(value)
    if isinstance(value, Mapping):
        return _JavaMap({k: _java(v) for k, v in value.items()})
    if isinstance(value, list):
        return _JavaList(_java(item) for item in value)
    return value


class _JavaBoolean:
    """A boolean that prints ``true``/``false`` and compares equal to Python's booleans."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool | _JavaBoolean):
            return self.value == bool(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return "true" if self.value else "false"

    __repr__ = __str__


class _JavaMap(dict):
    """A map with ``java.util.Map``'s methods and ``toString``."""

    def keySet(self) -> list[Any]:
        return list(self.keys())

    def entrySet(self) -> list[_JavaMap]:
        return [_JavaMap(key=k, value=v) for k, v in self.items()]

    def containsKey(self, key: Any) -> bool:
        return key in self

    def isEmpty(self) -> bool:
        return not self

    def size(self) -> int:
        return len(self)

    def put(self, key: Any, value: Any) -> Any:
        previous = self.get(key)
        self[key] = value
        return previous

    def putAll(self, other: Mapping[Any, Any]) -> None:
        self.update(other)

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}={v}" for k, v in self.items()) + "}"


class _JavaList(list):
    """A list with ``java.util.List``'s methods; prints as compact JSON, as AWS's does."""

    def size(self) -> int:
        return len(self)

    def get(self, index: int) -> Any:
        return self[index]

    def contains(self, value: Any) -> bool:
        return value in self

    def isEmpty(self) -> bool:
        return not self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def __str__(self) -> str:
        return dumps(self)
