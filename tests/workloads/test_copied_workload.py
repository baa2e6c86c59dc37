"""The README's promise: a workload copied from squaring comes with tests that pass as they are
and fail once its settings break.

The copy goes to a workloads folder outside the repository (``ACKFLOW_WORKLOADS_PATH``), renamed
as the README says and nothing else, and its own ``test_workload.py`` runs in a fresh pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from local.cloud.capture import PROJECT_ROOT
from stack.program import WORKLOADS_PATH_ENV
from workloads import WORKLOADS_ROOT


def copy_as_the_readme_says(root: Path, name: str) -> Path:
    """``cp -r workloads/squaring workloads/<name>``, then ``name="<name>"`` in workload.py."""
    folder = root / name
    shutil.copytree(
        WORKLOADS_ROOT / "squaring", folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    replace_once(folder / "workload.py", 'name="squaring"', f'name="{name}"')
    return folder


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new))


def readme_example() -> str:
    """The Python block of the README's "Testing your workload"."""
    section = (PROJECT_ROOT / "README.md").read_text().split("### Testing your workload", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def run_its_tests(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(folder)],
        cwd=folder.parent,
        env={**os.environ, WORKLOADS_PATH_ENV: str(folder.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_copy_of_squaring_passes_its_own_tests_and_fails_them_once_its_settings_break(
    tmp_path: Path,
):
    cubing = copy_as_the_readme_says(tmp_path / "workloads", "cubing")
    (cubing / "test_readme_example.py").write_text(readme_example())  # as a reader would

    passing = run_its_tests(cubing)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    ran = {
        line.split(" ")[0].rsplit("/", 1)[1]
        for line in passing.stdout.splitlines()
        if " PASSED" in line
    }
    assert {
        "test_readme_example.py::test_retries_and_memory_reach_the_worker",
        "test_readme_example.py::test_a_bad_setting_is_refused",
        "test_workload.py::test_by_default_the_caller_picks_with_an_invocation_type_header",
    } <= ran, passing.stdout

    # Two ways a settings model breaks: a changed default, and a loosened type.
    replace_once(
        cubing / "workload.py",
        "invocation: Invocation = Invocation.CLIENT",
        "invocation: str = Invocation.EVENT",
    )
    failing = run_its_tests(cubing)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    failed = {
        line.split("::", 1)[1] for line in failing.stdout.splitlines() if line.startswith("FAILED")
    }
    assert {name.split(" ")[0] for name in failed} == {
        "test_by_default_the_caller_picks_with_an_invocation_type_header",
        "test_a_bad_setting_stops_the_program_naming_its_key[settings1-invocation]",
    }, failing.stdout
