"""Faults injected through the prompt, so tests and demos reach them by the real path.

A worker forwards the user's prompt unchanged, so a directive written in the prompt's text
reaches the stand-in wherever the prompt came from (``ackflow chat``, the demo page, a test):

    [ackflow-fault: throttle times=2]
    [ackflow-fault: midstream error=throttlingException after=20 times=1]
    [ackflow-fault: validation]

``times=N``: the first N requests of this conversation (same system prompt and messages) get
the fault, later ones do not; without it, every request does. Several directives in one
prompt apply in turn: each request takes the first one that has not used up its ``times``.
The count lives in the stand-in's memory, so it restarts with ``ackflow up``. Directives are
read from the last user message only, and are cut out of the text the reply is written from.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from local.standins.bedrock.errors import (
    STREAM_ERROR_MEMBERS,
    BedrockError,
    ModelStreamErrorException,
    ThrottlingException,
    ValidationException,
    stream_error,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DIRECTIVE", "Fault", "FaultBook", "parse_faults", "strip_faults"]

DIRECTIVE = re.compile(r"[ \t]*\[ackflow-fault:(?P<body>[^\]]*)\]")
THROTTLE = "throttle"
VALIDATION = "validation"
MIDSTREAM = "midstream"
_OPTIONS = {THROTTLE: {"times"}, VALIDATION: {"times"}, MIDSTREAM: {"times", "after", "error"}}
DEFAULT_AFTER = 20
"""Deltas a ``midstream`` fault lets through when ``after`` is not given."""


@dataclass(frozen=True)
class Fault:
    kind: str
    times: int | None = None
    """How many requests of a conversation get it; None: all of them."""
    after: int = DEFAULT_AFTER
    error: type[BedrockError] = ModelStreamErrorException
    """What ``midstream`` sends (its stream member is the frame's ``:exception-type``)."""

    @property
    def before_stream(self) -> bool:
        return self.kind != MIDSTREAM

    def exception(self) -> BedrockError:
        if self.kind == THROTTLE:
            return ThrottlingException(ThrottlingException.DEFAULT_MESSAGE)
        if self.kind == VALIDATION:
            return ValidationException("The request is invalid (injected by ackflow-fault).")
        return self.error(f"{self.error.stream_member()} (injected by ackflow-fault).")


def parse_faults(text: str) -> list[Fault]:
    """The directives in ``text``, in order; a malformed one is a ValidationException."""
    return [_parse(match["body"]) for match in DIRECTIVE.finditer(text)]


def strip_faults(text: str) -> str:
    """``text`` without its directives (and the blanks before them)."""
    return DIRECTIVE.sub("", text).strip()


class FaultBook:
    """How often each directive of each conversation has fired."""

    def __init__(self) -> None:
        self._fired: Counter[tuple[str, int]] = Counter()

    def take(self, conversation: str, faults: Sequence[Fault]) -> Fault | None:
        """The fault this request gets, counted as fired; None once all are used up."""
        for index, fault in enumerate(faults):
            if fault.times is None or self._fired[conversation, index] < fault.times:
                self._fired[conversation, index] += 1
                return fault
        return None


def _parse(body: str) -> Fault:
    kind, *options = body.split() or [""]
    if kind not in _OPTIONS:
        raise _bad(body, f"the fault is one of {', '.join(_OPTIONS)}")
    values: dict[str, str] = {}
    for option in options:
        name, equals, value = option.partition("=")
        if not equals or name not in _OPTIONS[kind]:
            raise _bad(body, f"{kind} takes {', '.join(sorted(_OPTIONS[kind]))} as name=value")
        values[name] = value
    times = _count(body, "times", values["times"], minimum=1) if "times" in values else None
    after = _count(body, "after", values.get("after", str(DEFAULT_AFTER)), minimum=0)
    try:
        error = stream_error(values.get("error", ModelStreamErrorException.stream_member()))
    except ValueError:
        raise _bad(body, f"error is one of {', '.join(STREAM_ERROR_MEMBERS)}") from None
    return Fault(kind, times, after, error)


def _count(body: str, name: str, value: str, minimum: int) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < minimum:
        raise _bad(body, f"{name} is a whole number, at least {minimum}")
    return int(value)


def _bad(body: str, rule: str) -> ValidationException:
    return ValidationException(f"Bad directive [ackflow-fault:{body}]: {rule}.")
