"""Types that workloads declare and components take are mirrored: keep them in step."""

from __future__ import annotations

from dataclasses import fields

from components.function import TableArgs
from workloads import Table


def test_a_workload_table_and_the_components_table_args_have_the_same_fields_and_defaults():
    def shape(cls: type) -> list[tuple[str, object]]:
        return [(f.name, f.default) for f in fields(cls)]

    assert shape(Table) == shape(TableArgs)
