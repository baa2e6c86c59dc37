"""The bench's copies of squaring: distinct names, routes and GraphQL fields, so a stack can
enable many side by side (the stack config refuses two claiming one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.evaluation import copy_squaring, stack_config, with_ratios
from local.cloud.capture import capture
from stack.program import WORKLOADS_PATH_ENV

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_three_copies_of_squaring_evaluate_side_by_side_with_their_own_routes_and_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for k in (1, 2, 3):
        copy_squaring(tmp_path, k)
    monkeypatch.setenv(WORKLOADS_PATH_ENV, str(tmp_path))

    stack = capture("bench", stack_config(3))

    assert len(stack.of_type("ackflow:index:AsyncWorker")) == 3
    paths = {r.inputs["pathPart"] for r in stack.of_type("aws:apigateway/resource:Resource")}
    assert {"square1", "square2", "square3"} <= paths
    fields = {r.inputs["field"] for r in stack.of_type("aws:appsync/resolver:Resolver")}
    assert {"square1", "squareAsync2", "square3"} <= fields


def test_a_linear_cost_stays_under_proportional_and_a_quadratic_one_goes_over():
    def rows(seconds: dict[int, float]) -> list[dict]:
        return with_ratios([{"workloads": n, "seconds": s} for n, s in seconds.items()])

    linear = rows({1: 1.1, 10: 2.0, 50: 6.0})  # 1 s fixed, 0.1 s a workload
    quadratic = rows({1: 1.01, 10: 2.0, 50: 26.0})  # 1 + 0.01 n²

    assert [r["vs_proportional"] for r in linear] == [5.5, 1.0, 0.6]
    assert (linear[2]["ratio_to_1"], linear[2]["seconds_per_workload"]) == (5.45, 0.12)
    assert quadratic[2]["vs_proportional"] == 2.6
