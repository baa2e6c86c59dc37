"""Load a workload's handler module the way Lambda does: by path, its bundle roots on sys.path."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"


@contextmanager
def handler_module(workload: str, file: str, module_name: str) -> Iterator[ModuleType]:
    """``workloads/<workload>/<file>`` as ``module_name``, with the folder and ``workloads/``
    (where included workloads live) importable while it is in use."""
    folder = WORKLOADS / workload
    added = [str(folder), str(WORKLOADS)]
    sys.path[:0] = added
    try:
        spec = importlib.util.spec_from_file_location(module_name, folder / file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses resolve annotations through it
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(module_name, None)
        for entry in added:
            sys.path.remove(entry)
