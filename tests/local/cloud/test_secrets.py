"""Local values for stack secrets: environment first, then the stack file, then generated."""

from __future__ import annotations

import json
import os
import stat

from local.cloud import state
from local.cloud.secrets import env_name, local_secrets
from stack.program import available_workloads

KEY = "ackflow:slackSigningSecret"
SLACK_ONLY = {"ackflow:workloads": {"slack": {}}}


def test_the_environment_variable_is_named_after_the_key():
    assert env_name("slackSigningSecret") == "SLACK_SIGNING_SECRET"


def test_a_generated_secret_is_kept_and_reused_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    store = tmp_path / "secrets.json"

    first = local_secrets(SLACK_ONLY, available_workloads(), store)
    second = local_secrets(SLACK_ONLY, available_workloads(), store)

    assert len(first[KEY]) == 32
    assert first == second
    assert json.loads(store.read_text()) == {"slackSigningSecret": first[KEY]}
    assert store.stat().st_mode & 0o077 == 0


def test_the_environment_wins_over_the_stack_file_which_wins_over_generating(monkeypatch):
    config = {**SLACK_ONLY, KEY: "from-the-stack-file"}
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    assert local_secrets(config, available_workloads())[KEY] == "from-the-stack-file"
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-the-environment")
    assert local_secrets(config, available_workloads())[KEY] == "from-the-environment"


def test_no_secret_is_made_for_a_workload_the_stack_does_not_enable():
    assert local_secrets({"ackflow:workloads": {"squaring": {}}}, available_workloads()) == {}


def test_the_kept_secret_is_written_0600_from_the_first_byte(tmp_path, monkeypatch):
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    modes_before_rename: list[int] = []
    replace = os.replace

    def checking_replace(source, destination):
        modes_before_rename.append(stat.S_IMODE(os.stat(source).st_mode))
        replace(source, destination)

    monkeypatch.setattr(state.os, "replace", checking_replace)
    previous = os.umask(0)  # a umask that would leave a plain write world-readable
    try:
        local_secrets(SLACK_ONLY, available_workloads(), tmp_path / "secrets.json")
    finally:
        os.umask(previous)

    assert modes_before_rename == [0o600]
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
