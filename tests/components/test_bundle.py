"""Tests for components.bundle: deterministic, cached, platform-correct Lambda archives."""

from __future__ import annotations

import ast
import re
import stat
import sys
import zipfile
from pathlib import Path

import pulumi
import pytest

from components import bundle
from components.bundle import BundleError, CodeBundle, LambdaBundler, SourceBundler

# pydantic-core 2.33.2 ships cp313 manylinux2014 wheels for both aarch64 and x86_64.
PYDANTIC_CORE_REQUIREMENTS = "pydantic-core==2.33.2\ntyping-extensions==4.14.1\n"
ELF_MACHINE = {"arm64": 0xB7, "x86_64": 0x3E}  # e_machine: EM_AARCH64, EM_X86_64
SO_NAME = {
    "arm64": "pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so",
    "x86_64": "pydantic_core/_pydantic_core.cpython-313-x86_64-linux-gnu.so",
}
HANDLER = "def handler(event, context):\n    return event\n"


def make_workload(root: Path, files: dict[str, str], *, name: str = "worker") -> Path:
    folder = root / name
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def make_fake_uv(root: Path, *, vendored: dict[str, str] | None = None, fail: bool = False) -> Path:
    """A stand-in for uv that logs its command line and fills --target with `vendored`."""
    script = root / ("failing-uv" if fail else "fake-uv")
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, pathlib, sys\n"
        "args = sys.argv[1:]\n"
        f"log = pathlib.Path({str(script) + '.calls'!r})\n"
        "with log.open('a') as f:\n"
        "    f.write(repr((args, os.environ.get('UV_PYTHON_DOWNLOADS'))) + '\\n')\n"
        f"if {fail!r}:\n"
        "    sys.exit('error: the fake uv was asked to build')\n"
        "target = pathlib.Path(args[args.index('--target') + 1])\n"
        f"for rel, text in {vendored or {}!r}.items():\n"
        "    path = target / rel\n"
        "    path.parent.mkdir(parents=True, exist_ok=True)\n"
        "    path.write_text(text)\n"
        "    if rel.endswith(('.so', 'bin/tool')):\n"
        "        path.chmod(0o755)\n"
    )
    script.chmod(0o755)
    return script


def calls(fake_uv: Path) -> list[tuple[list[str], str | None]]:
    log = fake_uv.with_name(fake_uv.name + ".calls")
    return [ast.literal_eval(line) for line in log.read_text().splitlines()] if log.exists() else []


def zip_path(code: CodeBundle) -> Path:
    assert isinstance(code.archive, pulumi.FileArchive)
    return Path(code.archive.path)


def test_same_sources_give_byte_identical_archives_and_a_changed_handler_a_new_hash(
    tmp_path: Path,
) -> None:
    folder = make_workload(
        tmp_path, {"handler.py": HANDLER, "requirements.txt": PYDANTIC_CORE_REQUIREMENTS}
    )

    first = LambdaBundler(tmp_path / "cache-a").bundle(folder, "arm64")
    second = LambdaBundler(tmp_path / "cache-b").bundle(folder, "arm64")

    assert zip_path(first) != zip_path(second)
    assert zip_path(first).read_bytes() == zip_path(second).read_bytes()
    assert first.source_hash == second.source_hash
    (folder / "handler.py").write_text(HANDLER + "# changed\n")
    changed = LambdaBundler(tmp_path / "cache-a").bundle(folder, "arm64")
    assert changed.source_hash != first.source_hash
    assert zip_path(changed) != zip_path(first)


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_vendored_binary_wheel_is_built_for_the_target_architecture(
    tmp_path: Path, architecture: str
) -> None:
    folder = make_workload(
        tmp_path, {"handler.py": HANDLER, "requirements.txt": PYDANTIC_CORE_REQUIREMENTS}
    )

    code = LambdaBundler(tmp_path / "cache").bundle(folder, architecture)

    assert re.fullmatch(rf"worker-{architecture}-[0-9a-f]{{16}}\.zip", zip_path(code).name)
    with zipfile.ZipFile(zip_path(code)) as archive:
        names = archive.namelist()
        assert SO_NAME[architecture] in names
        other_arch_so = set(SO_NAME.values()) - {SO_NAME[architecture]}
        assert not other_arch_so & set(names)
        elf = archive.read(SO_NAME[architecture])
        assert {"handler.py", "requirements.txt", "pydantic_core/__init__.py"} <= set(names)
    assert elf[:4] == b"\x7fELF"
    assert int.from_bytes(elf[18:20], "little") == ELF_MACHINE[architecture]
    assert names == sorted(names)
    assert not any(name.endswith(".pyc") or "__pycache__" in name for name in names)
    assert not any(name.endswith(("/INSTALLER", "/direct_url.json")) for name in names)


def test_archive_is_normalised_and_leaves_out_tests_bytecode_and_uv_leftovers(
    tmp_path: Path,
) -> None:
    folder = make_workload(
        tmp_path,
        {
            "handler.py": HANDLER,
            "requirements.txt": "somepkg==1.0\n",
            "lib/util.py": "X = 1\n",
            "lib/__pycache__/util.cpython-313.pyc": "bytecode",
            "__pycache__/handler.cpython-313.pyc": "bytecode",
            "stray.pyc": "bytecode",
            "tests/test_handler.py": "def test(): pass\n",
            "lib/tests/test_util.py": "def test(): pass\n",
            "test_workload.py": "def test(): pass\n",
            "lib/test_util.py": "def test(): pass\n",
            "conftest.py": "",
            "latest_results.py": "X = 2\n",
            ".pytest_cache/v/cache/lastfailed": "{}",
            "run.sh": "#!/bin/sh\n",
        },
    )
    (folder / "run.sh").chmod(0o755)
    fake_uv = make_fake_uv(
        tmp_path,
        vendored={
            "somepkg/__init__.py": "",
            "somepkg/native.so": "ELF",
            "somepkg/__pycache__/__init__.cpython-313.pyc": "bytecode",
            "somepkg/legacy.pyc": "bytecode",
            "somepkg-1.0.dist-info/RECORD": "",
            ".lock": "",
            "bin/tool": "#!/some/host/python\n",
        },
    )

    code = LambdaBundler(tmp_path / "cache", uv_bin=str(fake_uv)).bundle(folder, "arm64")

    with zipfile.ZipFile(zip_path(code)) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == [
        "handler.py",
        "latest_results.py",
        "lib/util.py",
        "requirements.txt",
        "run.sh",
        "somepkg-1.0.dist-info/RECORD",
        "somepkg/__init__.py",
        "somepkg/native.so",
    ]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
    modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in infos}
    assert {name for name, mode in modes.items() if mode == 0o755} == {
        "run.sh",
        "somepkg/native.so",
    }
    assert set(modes.values()) == {0o644, 0o755}


def test_uv_is_called_for_the_lambda_platform_with_binary_wheels_only(tmp_path: Path) -> None:
    folder = make_workload(tmp_path, {"handler.py": HANDLER, "requirements.txt": "somepkg\n"})
    fake_uv = make_fake_uv(tmp_path, vendored={"somepkg/__init__.py": ""})

    LambdaBundler(tmp_path / "cache", uv_bin=str(fake_uv)).bundle(folder, "x86_64")

    [(args, python_downloads)] = calls(fake_uv)
    assert python_downloads == "never"
    command = " ".join(args)
    for flag in (
        "pip install --target",
        "--python-platform x86_64-manylinux2014",
        "--python-version 3.13",
        "--only-binary :all:",
        "--no-installer-metadata",
        "--no-compile-bytecode",
        f"-r {folder / 'requirements.txt'}",
    ):
        assert flag in command


def test_cache_hit_returns_the_cached_archive_without_running_uv(tmp_path: Path) -> None:
    folder = make_workload(tmp_path, {"handler.py": HANDLER, "requirements.txt": "somepkg\n"})
    fake_uv = make_fake_uv(tmp_path, vendored={"somepkg/__init__.py": ""})
    failing_uv = make_fake_uv(tmp_path, fail=True)
    built = LambdaBundler(tmp_path / "cache", uv_bin=str(fake_uv)).bundle(folder, "arm64")

    cached = LambdaBundler(tmp_path / "cache", uv_bin=str(failing_uv)).bundle(folder, "arm64")

    assert zip_path(cached) == zip_path(built)
    assert cached.source_hash == built.source_hash
    assert calls(failing_uv) == []
    assert len(calls(fake_uv)) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [zip_path(built).name]


@pytest.mark.parametrize("requirements", [None, "", "  \n# nothing to install\n"])
def test_missing_or_empty_requirements_skip_vendoring(
    tmp_path: Path, requirements: str | None
) -> None:
    files = {"handler.py": HANDLER}
    if requirements is not None:
        files["requirements.txt"] = requirements
    folder = make_workload(tmp_path, files)
    failing_uv = make_fake_uv(tmp_path, fail=True)

    code = LambdaBundler(tmp_path / "cache", uv_bin=str(failing_uv)).bundle(folder, "arm64")

    with zipfile.ZipFile(zip_path(code)) as archive:
        assert archive.namelist() == sorted(files)
    assert calls(failing_uv) == []


def test_requirement_that_does_not_exist_raises_bundle_error_naming_the_folder(
    tmp_path: Path,
) -> None:
    folder = make_workload(
        tmp_path,
        {"handler.py": HANDLER, "requirements.txt": "ackflow-no-such-package-q7z==1.0\n"},
        name="orders-worker",
    )

    with pytest.raises(BundleError) as raised:
        LambdaBundler(tmp_path / "cache").bundle(folder, "arm64")

    message = str(raised.value)
    assert "orders-worker" in message
    assert "ackflow-no-such-package-q7z" in message  # from uv's stderr tail
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_workload_file_clashing_with_a_vendored_file_raises_bundle_error(tmp_path: Path) -> None:
    folder = make_workload(
        tmp_path, {"handler.py": HANDLER, "six.py": "", "requirements.txt": "six\n"}
    )
    fake_uv = make_fake_uv(tmp_path, vendored={"six.py": "# vendored"})

    with pytest.raises(BundleError, match=r"worker.*six\.py.*'six\.py' vendored"):
        LambdaBundler(tmp_path / "cache", uv_bin=str(fake_uv)).bundle(folder, "arm64")


@pytest.mark.parametrize("bundler", [LambdaBundler, SourceBundler])
def test_unknown_architecture_raises_bundle_error(tmp_path: Path, bundler: type) -> None:
    folder = make_workload(tmp_path, {"handler.py": HANDLER})
    instance = bundler(tmp_path / "cache") if bundler is LambdaBundler else bundler()

    with pytest.raises(BundleError, match=r"'aarch64'.*arm64"):
        instance.bundle(folder, "aarch64")


def test_constructing_a_lambda_bundler_builds_nothing(tmp_path: Path) -> None:
    LambdaBundler(tmp_path / "cache", uv_bin=str(make_fake_uv(tmp_path, fail=True)))

    assert not (tmp_path / "cache").exists()


def test_source_bundler_archives_the_folder_with_a_stable_hash_and_never_runs_uv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("SourceBundler ran a subprocess")

    monkeypatch.setattr(bundle.subprocess, "run", no_subprocess)
    folder = make_workload(
        tmp_path, {"handler.py": HANDLER, "requirements.txt": PYDANTIC_CORE_REQUIREMENTS}
    )
    first = SourceBundler().bundle(folder, "arm64")

    assert isinstance(first.archive, pulumi.FileArchive)
    assert first.archive.path == str(folder)
    assert SourceBundler().bundle(folder, "x86_64").source_hash == first.source_hash
    make_workload(
        tmp_path,
        {
            "tests/test_x.py": "",
            "test_workload.py": "def test(): pass\n",
            "__pycache__/handler.cpython-313.pyc": "x",
        },
    )
    assert SourceBundler().bundle(folder, "arm64").source_hash == first.source_hash
    (folder / "handler.py").write_text(HANDLER + "# changed\n")
    assert SourceBundler().bundle(folder, "arm64").source_hash != first.source_hash


def test_included_workloads_ship_as_packages_and_their_changes_change_the_hash(
    tmp_path: Path,
) -> None:
    folder = make_workload(tmp_path, {"worker.py": HANDLER})
    shared = make_workload(tmp_path, {"handler.py": "SQUARE = 2\n", "tests/t.py": ""}, name="math")
    bundler = LambdaBundler(tmp_path / "cache")

    code = bundler.bundle(folder, "arm64", [shared])

    with zipfile.ZipFile(zip_path(code)) as archive:
        assert archive.namelist() == ["math/handler.py", "worker.py"]
    (shared / "handler.py").write_text("SQUARE = 3\n")
    assert bundler.bundle(folder, "arm64", [shared]).source_hash != code.source_hash
    source = SourceBundler()
    before = source.bundle(folder, "arm64", [shared]).source_hash
    (shared / "handler.py").write_text("SQUARE = 4\n")
    assert source.bundle(folder, "arm64", [shared]).source_hash != before


def test_the_squaring_workloads_own_test_file_stays_out_of_its_lambda_bundle():
    squaring = Path(__file__).resolve().parents[2] / "workloads" / "squaring"
    assert (squaring / "test_workload.py").is_file()

    entries = bundle._archive_entries(squaring, ())

    assert "handler.py" in entries
    assert not [name for name in entries if "test" in name], entries
