"""wrk's per-run Lua script: the request, the cap and the figures it prints; and wrk itself,
closed-loop and paced, against the bench's baseline server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bench.baseline_server import BaselineServer
from bench.wrk import WrkResult, _lua_string, _script, run_wrk

if TYPE_CHECKING:
    from pathlib import Path


def test_the_script_sets_the_request_and_stops_each_thread_at_its_cap():
    script = _script("POST", '{"number": "12"}', {"x-api-key": "k"}, cap=500)

    assert "wrk.method = [==[POST]==]" in script
    assert 'wrk.body = [==[{"number": "12"}]==]' in script
    assert "wrk.headers[ [==[x-api-key]==] ] = [==[k]==]" in script
    assert "if answered >= 500 then wrk.thread:stop() end" in script
    assert "done = function(summary, latency, requests)" in script


def test_without_a_cap_no_thread_stops_early():
    assert "answered >= math.huge" in _script("GET", None, {}, cap=None)


def test_a_duration_wrk_cannot_take_is_refused_before_it_runs():
    with pytest.raises(ValueError, match="whole seconds"):
        run_wrk("http://127.0.0.1:9/", connections=1, seconds=1.5)


def test_text_that_would_end_the_lua_string_is_refused():
    with pytest.raises(ValueError):
        _lua_string("a]==]b")


def test_percentiles_and_rate_come_from_the_cdf_and_the_measured_time():
    result = WrkResult(32, 1000, 0.5, 0, 0, ((50, 2.0), (99, 9.0), (100, 12.0)))

    assert (result.p50_ms, result.p99_ms, result.rate) == (2.0, 9.0, 2000.0)


def test_a_paced_run_sends_the_rate_it_is_given_where_closed_loop_sends_all_it_can(
    tmp_path: Path,
):
    with BaselineServer(tmp_path / "events.sqlite3") as server:
        closed = run_wrk(server.url, connections=4, seconds=1, method="POST", body="{}")
        paced = run_wrk(server.url, connections=4, seconds=1, method="POST", body="{}", rate=100)

    # Two threads' slots, one every 20 ms each; the run lasts its second and the last answers.
    assert 90 <= paced.rate <= 110
    assert paced.non_2xx == paced.socket_errors == 0
    assert closed.requests > 3 * paced.requests
