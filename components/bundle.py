"""Code bundles for Lambda functions: a workload folder plus its vendored requirements.

`LambdaBundler` builds the deployable archive (deterministic and cached, so an unchanged
workload causes no diff on the next `pulumi up`); `SourceBundler` hands over the folder as it
is, for the offline preview, the local runtime and tests. Nothing is built at import time.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pulumi
from uv import find_uv_bin

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = ["BundleError", "Bundler", "CodeBundle", "LambdaBundler", "SourceBundler"]

REQUIREMENTS_FILE = "requirements.txt"
# uv's --python-platform per Lambda architecture.
PLATFORMS = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}

_EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", "tests"})
# A workload's own tests (pytest's names for them) live in its folder but never ship.
_EXCLUDED_FILES = ("test_*.py", "conftest.py")
# Left in the --target folder by uv: its lock file and console scripts (whose shebang names
# the build host's interpreter, useless on Lambda).
_EXCLUDED_VENDORED_TOP = frozenset({".lock", "bin"})
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_COMPRESSLEVEL = 6
_CACHE_FORMAT = "1"  # bump when the archive layout changes, to invalidate old caches
_STDERR_TAIL_LINES = 20


class BundleError(Exception):
    """A code bundle could not be built (vendoring failed, a file clash, a bad setting)."""


@dataclass(frozen=True, kw_only=True)
class CodeBundle:
    """A function's code, ready for `aws.lambda_.Function`.

    Parameters
    ----------
    archive
        What goes into `Function(code=...)`.
    source_hash
        Base64 of a sha256, what `Function(source_code_hash=...)` takes.
    """

    archive: pulumi.Archive
    source_hash: str


class Bundler(Protocol):
    """Turns a workload folder into a `CodeBundle` for one architecture."""

    def bundle(
        self, source_dir: Path, architecture: str, includes: Sequence[Path] = ()
    ) -> CodeBundle:
        """``includes``: other folders shipped beside the code as packages named after them."""
        ...


class LambdaBundler:
    """Builds the real Lambda archive.

    The workload folder plus its requirements.txt vendored for the Lambda platform (manylinux,
    binary wheels only) for the architecture. Archives are cached under `cache_dir` by a key
    derived from the inputs.

    Parameters
    ----------
    cache_dir
        Where built archives are kept; created on the first build.
    python_version
        The Lambda runtime's Python version, the wheels' target.
    uv_bin
        The uv executable; the one shipped with the `uv` package when not given.
    """

    def __init__(
        self, cache_dir: Path, *, python_version: str = "3.13", uv_bin: str | None = None
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.python_version = python_version
        self._uv_bin = uv_bin

    def bundle(
        self, source_dir: Path, architecture: str, includes: Sequence[Path] = ()
    ) -> CodeBundle:
        """Return the cached archive for these inputs, building it first if needed."""
        source_dir = Path(source_dir)
        platform = _platform(architecture)
        files = _archive_entries(source_dir, includes)
        key = self._cache_key(files, architecture)
        zip_path = self.cache_dir / f"{source_dir.name}-{architecture}-{key[:16]}.zip"
        if not zip_path.exists():
            self._build(source_dir, files, platform, zip_path)
        digest = hashlib.sha256(zip_path.read_bytes()).digest()
        return CodeBundle(archive=pulumi.FileArchive(str(zip_path)), source_hash=_b64(digest))

    def _cache_key(self, files: dict[str, Path], architecture: str) -> str:
        def chunks() -> Iterator[bytes]:
            yield from (_CACHE_FORMAT.encode(), self.python_version.encode(), architecture.encode())
            for rel, path in files.items():
                yield rel.encode()
                yield b"x" if _is_executable(path) else b"-"
                yield path.read_bytes()

        return _sha256_of_chunks(chunks()).hex()

    def _build(
        self, source_dir: Path, files: dict[str, Path], platform: str, zip_path: Path
    ) -> None:
        entries = dict(files)
        with tempfile.TemporaryDirectory(prefix="ackflow-vendor-") as target:
            if _has_requirements(source_dir):
                self._vendor(source_dir, platform, Path(target))
                for rel, path in _vendored_files(Path(target)).items():
                    if rel in entries:
                        raise BundleError(
                            f"{source_dir.name}: workload file {entries[rel]} clashes with "
                            f"{rel!r} vendored from {REQUIREMENTS_FILE}"
                        )
                    entries[rel] = path
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            _write_zip_atomically(entries, zip_path)

    def _vendor(self, source_dir: Path, platform: str, target: Path) -> None:
        command = [
            self._uv_bin or find_uv_bin(),
            *("pip", "install", "--target", str(target)),
            *("--python", sys.executable),
            *("--python-platform", platform, "--python-version", self.python_version),
            *("--only-binary", ":all:", "--no-installer-metadata", "--no-compile-bytecode"),
            *("-r", str(source_dir / REQUIREMENTS_FILE)),
        ]
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        try:
            result = subprocess.run(
                command, cwd=source_dir, env=env, capture_output=True, text=True, check=False
            )
        except OSError as error:
            raise BundleError(f"{source_dir.name}: cannot run uv ({error})") from error
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-_STDERR_TAIL_LINES:])
            raise BundleError(
                f"{source_dir.name}: vendoring {REQUIREMENTS_FILE} for {platform} failed "
                f"(uv exit {result.returncode}):\n{tail}"
            )


class SourceBundler:
    """The workload folder as it is, nothing vendored and nothing downloaded.

    For the offline preview, the local runtime and tests. The hash is computed over the same
    file list `LambdaBundler` would take from the folder.
    """

    def bundle(
        self, source_dir: Path, architecture: str, includes: Sequence[Path] = ()
    ) -> CodeBundle:
        """Return the folder itself as the archive, with a hash of its files.

        Included folders are not copied: the local runtime puts the folder's parent on the
        import path, where the included workloads are siblings.
        """
        source_dir = Path(source_dir)
        _platform(architecture)
        digest = _sha256_of_chunks(
            chunk
            for rel, path in _archive_entries(source_dir, includes).items()
            for chunk in (rel.encode(), path.read_bytes())
        )
        return CodeBundle(archive=pulumi.FileArchive(str(source_dir)), source_hash=_b64(digest))


def _archive_entries(source_dir: Path, includes: Sequence[Path]) -> dict[str, Path]:
    """Archive name → file: the workload's files at the root, each include under its name."""
    entries = {rel: source_dir / rel for rel in _workload_files(source_dir)}
    for folder in includes:
        folder = Path(folder)
        entries |= {f"{folder.name}/{rel}": folder / rel for rel in _workload_files(folder)}
    return entries


def _workload_files(source_dir: Path) -> list[str]:
    """List a workload folder's files as sorted POSIX paths relative to it.

    Leaves out `__pycache__/`, `.pytest_cache/` and `tests/` folders, `*.pyc` files, and the
    workload's tests (`test_*.py`, `conftest.py`).
    """
    if not source_dir.is_dir():
        raise BundleError(f"{source_dir.name}: workload folder {source_dir} does not exist")
    return sorted(
        rel.as_posix()
        for rel in (path.relative_to(source_dir) for path in source_dir.rglob("*"))
        if (source_dir / rel).is_file()
        and rel.suffix != ".pyc"
        and _EXCLUDED_DIRS.isdisjoint(rel.parts[:-1])
        and not any(fnmatch.fnmatchcase(rel.name, pattern) for pattern in _EXCLUDED_FILES)
    )


def _vendored_files(target: Path) -> dict[str, Path]:
    return {
        rel.as_posix(): target / rel
        for rel in (path.relative_to(target) for path in target.rglob("*"))
        if (target / rel).is_file()
        and rel.suffix != ".pyc"
        and "__pycache__" not in rel.parts
        and rel.parts[0] not in _EXCLUDED_VENDORED_TOP
    }


def _write_zip_atomically(entries: dict[str, Path], zip_path: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=zip_path.parent, prefix=f".{zip_path.name}.")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
                info.create_system = 3  # Unix, so the permission bits below are honoured
                mode = 0o755 if _is_executable(entries[name]) else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                archive.writestr(
                    info,
                    entries[name].read_bytes(),
                    compress_type=zipfile.ZIP_DEFLATED,
                    compresslevel=_ZIP_COMPRESSLEVEL,
                )
        os.replace(tmp_name, zip_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _platform(architecture: str) -> str:
    try:
        return PLATFORMS[architecture]
    except KeyError:
        raise BundleError(
            f"unknown architecture {architecture!r}; expected one of {sorted(PLATFORMS)}"
        ) from None


def _has_requirements(source_dir: Path) -> bool:
    """Whether the folder has a requirements.txt with anything but blanks and comments."""
    requirements = source_dir / REQUIREMENTS_FILE
    return requirements.is_file() and any(
        line.strip() and not line.lstrip().startswith("#")
        for line in requirements.read_text().splitlines()
    )


def _is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


def _sha256_of_chunks(chunks: Iterable[bytes]) -> bytes:
    """Hash length-prefixed chunks, so that no two different sequences hash alike."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return digest.digest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()
