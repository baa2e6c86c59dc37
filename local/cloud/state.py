"""A stack's state folder (``.ackflow/<stack>/``): one runtime at a time, secrets kept private.

``ackflow up`` holds an exclusive lock on the folder (``fcntl.flock`` on ``ackflow.lock``) for
its whole life, taken before anything else touches the folder, and ``ackflow down`` holds it
while it stops what a crashed run left: a second ``ackflow up`` on the same folder would
overwrite ``moto.pid`` and ``endpoints.json`` and re-run the events the first one is running,
so it is refused, naming the holder's pid and ports. The kernel drops the lock when its
process ends, even by ``kill -9``: a crashed run never blocks the next one.

Files holding secrets (``secrets.json``, ``endpoints.json``) are written private from their
first byte: to a temporary file created 0600 in the same folder, then renamed over the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["LOCK_FILE", "StateError", "StateLocked", "hold_state_dir", "write_private"]

LOCK_FILE = "ackflow.lock"
_PRIVATE_DIR = 0o700


class StateError(Exception):
    """The state folder cannot be used (not a folder, not writable, or in use)."""


class StateLocked(StateError):
    """Another ackflow process holds the state folder."""

    def __init__(self, state_dir: Path, holder: Mapping[str, Any]) -> None:
        self.holder = dict(holder)
        pid = holder.get("pid")
        ports = ", ".join(f"{name} {port}" for name, port in (holder.get("ports") or {}).items())
        who = f"{holder.get('command', 'another ackflow')} (pid {pid or 'unknown'}"
        who += f"; ports {ports})" if ports else ")"
        stop = f"Ctrl-C where it runs, or kill {pid}" if pid else "Ctrl-C where it runs"
        super().__init__(f"the state folder {state_dir} is in use by {who}; stop it first ({stop})")


@contextlib.contextmanager
def hold_state_dir(state_dir: Path, holder: Mapping[str, Any]) -> Iterator[Path]:
    """Hold the exclusive lock on ``state_dir`` (made 0700 if new) while the block runs.

    ``holder`` describes this process for anyone refused meanwhile (``command``, ``ports``);
    the pid is added. Raises :class:`StateLocked` at once when another process holds it, and
    :class:`StateError` when the folder cannot be made or written.
    """
    lock_path = state_dir / LOCK_FILE
    try:
        state_dir.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StateError(f"cannot use the state folder {state_dir}: {error.strerror}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateLocked(state_dir, _read_holder(lock_path)) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, json.dumps({**holder, "pid": os.getpid()}).encode())
        try:
            yield state_dir
        finally:
            # Emptied, not removed: removing it would let a third process lock a new file
            # while a second one still waits on this one.
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # closing drops the lock


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by this user only (0600) from the first byte."""
    path.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as stream:  # mkstemp creates the file 0600
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_holder(lock_path: Path) -> dict[str, Any]:
    """What the holder wrote about itself; empty if it has not written yet."""
    try:
        holder = json.loads(lock_path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}
