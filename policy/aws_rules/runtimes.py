"""Lambda's runtime deprecation schedule: the runtimes Lambda no longer creates functions on.

botocore's ``Runtime`` enum keeps every runtime that ever existed (``python2.7`` included: its
documentation says "The following list includes deprecated runtimes"), so the enum alone lets a
deprecated runtime through. AWS publishes the schedule, per runtime, in the data of its own
CloudFormation linter, cfn-lint (``cfnlint/data/AdditionalSpecs/LmbdRuntimeLifecycle.json``:
``deprecated``, ``create-block``, ``update-block``, ``successor``); it is read from there.

The check uses the create-block date: a first ``pulumi up`` creates every function. (An
existing function can still be updated until the later update-block date.)
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["SOURCE", "create_block_problem", "lifecycle"]

SOURCE = "schedule from AWS's cfn-lint (LmbdRuntimeLifecycle.json)"
_DATA = Path("data", "AdditionalSpecs", "LmbdRuntimeLifecycle.json")


@cache
def lifecycle() -> dict[str, dict[str, Any]]:
    """Runtime identifier → its deprecation dates, as cfn-lint ships them.

    Found with ``find_spec`` rather than imported: importing cfnlint takes seconds.
    """
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed; it carries Lambda's runtime schedule")
    path = Path(next(iter(spec.submodule_search_locations))) / _DATA
    return json.loads(path.read_text())


def create_block_problem(runtime: str, today: date) -> str | None:
    """Why Lambda would refuse to create a function on ``runtime`` today, or None."""
    schedule = lifecycle().get(runtime) or {}
    blocked = schedule.get("create-block")
    if not blocked or date.fromisoformat(blocked) > today:
        return None
    successor = schedule.get("successor")
    instead = f"; use {successor}" if successor else ""
    return (
        f"runtime {runtime!r} is deprecated: Lambda blocks creating functions on it since "
        f"{blocked}{instead} (botocore's Runtime enum still lists it)"
    )
