"""Tests for workloads.discover: adding a workload is adding a folder; a broken one fails loudly.

``stack.program.main`` always discovers from the real ``workloads/`` tree (it calls
``discover()`` with no root), so a copied workload is built with ``build_workers`` under the
fake cloud, the way ``main`` does after discovery.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.bundle import SourceBundler
from local.cloud.capture import Capture, evaluate
from stack.config import parse_stack_config
from stack.functions import build_workers
from workloads import (
    WORKLOADS_ROOT,
    StackContext,
    Workload,
    WorkloadError,
    WorkloadSettings,
    discover,
)

WORKER = "ackflow:index:AsyncWorker"
FUNCTION = "aws:lambda/function:Function"
SQUARING = WORKLOADS_ROOT / "squaring"
CONTEXT_FIELDS = {
    "project": "ackflow",
    "stack": "dev",
    "region": "us-east-1",
    "account_id": "000000000000",
}


def copy_squaring(root: Path, name: str, *, rename: bool = True) -> Path:
    """Copy ``workloads/squaring`` to ``root/name``, its WORKLOAD renamed to match unless told."""
    folder = root / name
    shutil.copytree(SQUARING, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if rename:
        edit(folder / "workload.py", 'name="squaring"', f'name="{name}"')
    return folder


def give_own_operations(folder: Path, noun: str) -> None:
    """Rename a squaring copy's routes and GraphQL fields after ``noun`` (``/cube``,
    ``cube``, ``CubeResult``), so that it may be enabled beside squaring."""
    workload_py = folder / "workload.py"
    edit(workload_py, 'path="/square/{number}"', f'path="/{noun}/{{number}}"')
    edit(workload_py, 'path="/square",', f'path="/{noun}",')
    edit(workload_py, 'field_name="square"', f'field_name="{noun}"')
    edit(workload_py, 'field_name="squareAsync"', f'field_name="{noun}Async"')
    schema = folder / "schema.graphql"
    text = schema.read_text().replace("SquareResult", f"{noun.capitalize()}Result")
    schema.write_text(text.replace("square(", f"{noun}(").replace("squareAsync(", f"{noun}Async("))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new))


def build(root: Path, selected: dict[str, Any]) -> Capture:
    """Discover under ``root``, validate ``selected`` as ``ackflow:workloads``, build workers."""
    available = discover(root)
    config = parse_stack_config({"workloads": selected}, available)
    context = StackContext(**CONTEXT_FIELDS)
    return evaluate(
        lambda: build_workers(config, available, SourceBundler(), context),
        "dev",
        {"aws:region": "us-east-1"},
    )


def comparable(value: Any) -> Any:
    """Inputs with archives replaced by their paths, so two captures compare as data."""
    if isinstance(value, pulumi.FileArchive):
        return ("FileArchive", value.path)
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


def resources_of(cap: Capture, worker_name: str) -> dict[tuple[str, str], Any]:
    """``(type, name) -> inputs`` of a worker and its children."""
    worker = cap.named(WORKER, worker_name)
    members = [worker, *cap.children(worker)]
    return {(r.type, r.name): comparable(r.inputs) for r in members}


# --- the real tree and a copied workload -----------------------------------------------------


def test_real_tree_finds_squaring_with_its_folder_and_schema():
    found = discover()

    assert "squaring" in found
    squaring = found["squaring"]
    assert isinstance(squaring, Workload)
    assert squaring.name == "squaring"
    assert squaring.directory == SQUARING
    assert issubclass(squaring.settings, WorkloadSettings)
    assert "squareAsync" in squaring.schema_fragment
    assert squaring.worker.handler == "handler.handler"


def test_folders_without_workload_py_are_not_plugins(tmp_path: Path):
    copy_squaring(tmp_path, "squaring")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("not a workload")
    (tmp_path / "__pycache__").mkdir()

    assert list(discover(tmp_path)) == ["squaring"]


def test_copied_workload_folder_is_discovered_under_its_new_name(tmp_path: Path):
    copy_squaring(tmp_path, "squaring")
    cubing_folder = copy_squaring(tmp_path, "cubing")

    found = discover(tmp_path)

    assert sorted(found) == ["cubing", "squaring"]
    assert found["cubing"].name == "cubing"
    assert found["cubing"].directory == cubing_folder
    assert found["cubing"].graphql == found["squaring"].graphql


def test_naming_a_copied_workload_in_config_adds_a_second_worker_and_changes_nothing_else(
    tmp_path: Path,
):
    copy_squaring(tmp_path, "squaring")
    cubing_folder = copy_squaring(tmp_path, "cubing")
    give_own_operations(cubing_folder, "cube")  # or the two could not be enabled together

    alone = build(tmp_path, {"squaring": {"retries": 1}})
    both = build(tmp_path, {"squaring": {"retries": 1}, "cubing": {}})

    assert [r.name for r in alone.of_type(WORKER)] == ["squaring-worker"]
    assert sorted(r.name for r in both.of_type(WORKER)) == ["cubing-worker", "squaring-worker"]
    # The squaring worker is exactly what it was alone; the rest is cubing's own.
    squaring = resources_of(both, "squaring-worker")
    assert squaring == resources_of(alone, "squaring-worker")
    cubing = resources_of(both, "cubing-worker")
    assert len(both.resources) == len(squaring) + len(cubing)
    assert sorted(t for t, _ in cubing) == sorted(t for t, _ in squaring)
    function = both.named(FUNCTION, "cubing-worker")
    assert function.inputs["name"] == "ackflow-dev-cubing-worker"
    assert function.inputs["code"].path == str(cubing_folder)
    assert len({r.urn for r in both.resources}) == len(both.resources)


# --- broken folders --------------------------------------------------------------------------


def expect_refusal(root: Path, folder: str, fault: str) -> str:
    """Discover under ``root``, expecting a WorkloadError naming ``folder`` (by its path:
    it is not under ``workloads/``) and ``fault``."""
    with pytest.raises(WorkloadError) as caught:
        discover(root)
    message = str(caught.value)
    assert message.startswith(f"{root / folder}: "), message
    assert re.search(fault, message), f"{fault!r} not in: {message}"
    return message


def test_syntax_error_in_workload_py_names_the_folder_and_the_error(tmp_path: Path):
    folder = copy_squaring(tmp_path, "broken")
    (folder / "workload.py").write_text("WORKLOAD = Workload(\n")

    expect_refusal(tmp_path, "broken", r"workload\.py failed to import: SyntaxError")


def test_import_error_in_workload_py_names_the_missing_module(tmp_path: Path):
    folder = copy_squaring(tmp_path, "broken")
    (folder / "workload.py").write_text("import ackflow_no_such_module\n")

    expect_refusal(tmp_path, "broken", r"ModuleNotFoundError: .*ackflow_no_such_module")


def test_workload_py_without_workload_value_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "broken")
    (folder / "workload.py").write_text("SOMETHING_ELSE = 1\n")

    expect_refusal(tmp_path, "broken", r"must define WORKLOAD = Workload\(\.\.\.\), found None")


def test_workload_value_of_the_wrong_type_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "broken")
    (folder / "workload.py").write_text('WORKLOAD = {"name": "broken"}\n')

    expect_refusal(tmp_path, "broken", r"must define WORKLOAD = Workload\(\.\.\.\), found \{'name'")


def test_workload_name_differing_from_its_folder_is_refused(tmp_path: Path):
    copy_squaring(tmp_path, "cubing", rename=False)

    expect_refusal(tmp_path, "cubing", r"WORKLOAD\.name is 'squaring', but the folder is 'cubing'")


def test_handler_module_missing_from_the_folder_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    (folder / "handler.py").unlink()

    expect_refusal(tmp_path, "cubing", r"worker's handler 'handler\.handler' names no module")


def test_handler_naming_another_module_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(
        folder / "workload.py", 'Function(handler="handler.handler")', 'Function(handler="app.run")'
    )

    expect_refusal(tmp_path, "cubing", r"worker's handler 'app\.run' names no module")


@pytest.mark.parametrize(
    "settings",
    ["dict", "SquaringSettings()", "pydantic.BaseModel"],
    ids=["plain-class", "instance", "unrelated-model"],
)
def test_settings_not_subclassing_workload_settings_are_refused(tmp_path: Path, settings: str):
    folder = copy_squaring(tmp_path, "cubing")
    edit(folder / "workload.py", "settings=SquaringSettings,", f"settings={settings},")
    edit(folder / "workload.py", "from __future__ import annotations\n", "import pydantic\n")

    expect_refusal(
        tmp_path, "cubing", r"WORKLOAD\.settings must subclass workloads\.WorkloadSettings"
    )


def test_graphql_fields_without_schema_graphql_are_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    (folder / "schema.graphql").unlink()

    expect_refusal(tmp_path, "cubing", r"declares GraphQL fields but has no schema\.graphql")


def test_route_to_an_undeclared_front_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(
        folder / "workload.py", 'path="/square",', 'path="/square",\n            function="front",'
    )

    expect_refusal(tmp_path, "cubing", r"route POST /square targets a front, but none is declared")


@pytest.mark.parametrize("name", ["my-workload", "my_workload", "MyWorkload", "2fast"])
def test_folder_name_that_is_not_a_camel_case_config_key_is_refused(tmp_path: Path, name: str):
    copy_squaring(tmp_path, name)

    expect_refusal(tmp_path, name, r"camelCase letters and digits")


def test_one_broken_folder_fails_discovery_even_beside_good_ones(tmp_path: Path):
    copy_squaring(tmp_path, "squaring")
    folder = copy_squaring(tmp_path, "zeta")
    (folder / "schema.graphql").unlink()

    expect_refusal(tmp_path, "zeta", r"no schema\.graphql")


def test_including_a_folder_that_is_no_workload_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(
        folder / "workload.py",
        'worker=Function(handler="handler.handler")',
        'worker=Function(handler="handler.handler", includes=("geometry",))',
    )

    expect_refusal(tmp_path, "cubing", r"the worker includes 'geometry', which is not a workload")


def test_secrets_without_a_front_to_read_them_are_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(
        folder / "workload.py",
        'worker=Function(handler="handler.handler")',
        'worker=Function(handler="handler.handler"),\n'
        '    secrets=(__import__("workloads").Secret(key="k", env="K", description="d"),)',
    )

    expect_refusal(tmp_path, "cubing", r"declares secrets, but only a front function reads them")


def test_the_same_workload_name_in_two_roots_is_refused(tmp_path: Path):
    copy_squaring(tmp_path / "a", "cubing")
    copy_squaring(tmp_path / "b", "cubing")

    with pytest.raises(WorkloadError, match=r"a workload named 'cubing' is already in"):
        discover(tmp_path / "a", tmp_path / "b")


def test_a_folder_under_the_real_tree_is_named_as_workloads_slash_its_name(tmp_path: Path):
    broken = WORKLOADS_ROOT / "ackflowBrokenForATest"
    broken.mkdir()
    try:
        (broken / "workload.py").write_text("WORKLOAD = None\n")
        with pytest.raises(WorkloadError, match=r"^workloads/ackflowBrokenForATest: "):
            discover()
    finally:
        shutil.rmtree(broken)


def test_a_root_that_is_not_a_folder_is_named(tmp_path: Path):
    with pytest.raises(WorkloadError, match=rf"^{tmp_path / 'nowhere'}: not a folder"):
        discover(tmp_path / "nowhere")


# --- schema.graphql against the GraphQLField values ------------------------------------------


def test_a_graphql_field_missing_from_schema_graphql_is_refused_naming_what_it_adds(
    tmp_path: Path,
):
    folder = copy_squaring(tmp_path, "cubing")
    edit(folder / "schema.graphql", "square(number", "cube(number")

    expect_refusal(
        tmp_path,
        "cubing",
        r"GraphQLField Query\.square is not a field its schema\.graphql adds "
        r"\(it adds Mutation\.squareAsync, Query\.cube\)",
    )


def test_a_graphql_field_naming_a_base_field_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(folder / "workload.py", 'field_name="squareAsync"', 'field_name="publishChunk"')

    expect_refusal(tmp_path, "cubing", r"GraphQLField Mutation\.publishChunk is not a field its")


def test_an_event_field_that_does_not_return_the_acknowledgement_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(folder / "schema.graphql", "streamId: ID): Accepted", "streamId: ID): SquareResult")

    expect_refusal(
        tmp_path,
        "cubing",
        r"GraphQLField Mutation\.squareAsync is invoked with event, so it must return Accepted, "
        r"not SquareResult",
    )


def test_a_schema_field_no_graphql_field_resolves_is_refused(tmp_path: Path):
    folder = copy_squaring(tmp_path, "cubing")
    edit(
        folder / "schema.graphql",
        "square(number: String!): SquareResult",
        "square(number: String!): SquareResult\n  squareTwice(number: String!): SquareResult",
    )

    expect_refusal(
        tmp_path, "cubing", r"schema\.graphql adds Query\.squareTwice, but no GraphQLField"
    )


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (("extend type Query {", "extend type Query {{"), r"schema\.graphql: .*does not parse"),
        (("number: String!\n  square", "number: Strng!\n  square"), r"Unknown type 'Strng'"),
        (("type SquareResult", "type Accepted"), r"type Accepted is defined by both"),
    ],
    ids=["syntax", "unknown-type", "clash-with-the-base"],
)
def test_a_schema_graphql_that_cannot_merge_is_refused_at_discovery(
    tmp_path: Path, change: tuple[str, str], fault: str
):
    folder = copy_squaring(tmp_path, "cubing")
    edit(folder / "schema.graphql", *change)

    expect_refusal(tmp_path, "cubing", fault)
