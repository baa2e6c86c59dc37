"""Lambda's runtime schedule: botocore's enum lists retired runtimes; the schedule refuses them."""

from __future__ import annotations

from datetime import date

from policy.aws_rules.model import Target
from policy.aws_rules.runtimes import create_block_problem, lifecycle


def test_botocores_runtime_enum_still_lists_python27():
    runtime = Target("lambda", "CreateFunction").root().members["Runtime"]
    assert "python2.7" in runtime.enum


def test_a_retired_runtime_is_refused_from_its_create_block_date():
    blocked = date.fromisoformat(lifecycle()["python3.7"]["create-block"])
    assert create_block_problem("python3.7", blocked) is not None
    assert create_block_problem("python3.7", date.fromordinal(blocked.toordinal() - 1)) is None


def test_the_projects_runtime_is_accepted_today_and_refused_after_its_schedule():
    assert create_block_problem("python3.13", date(2026, 12, 1)) is None
    assert "python3.13" in (create_block_problem("python3.13", date(2030, 1, 1)) or "")


def test_a_runtime_without_a_schedule_is_left_to_the_enum():
    assert create_block_problem("python3.99", date(2026, 12, 1)) is None
