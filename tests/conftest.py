"""Shared fixtures: a minimal workload folder to bundle as a function's code."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def handler_dir(tmp_path: Path) -> Path:
    """A folder holding only ``handler.py`` with ``handler(event, context)``."""
    folder = tmp_path / "handler_src"
    folder.mkdir()
    (folder / "handler.py").write_text("def handler(event, context):\n    return event\n")
    return folder
