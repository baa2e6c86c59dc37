"""wrk's per-run Lua script: the request, the cap and the figures it prints."""

from __future__ import annotations

import pytest

from bench.wrk import WrkResult, _lua_string, _script


def test_the_script_sets_the_request_and_stops_each_thread_at_its_cap():
    script = _script("POST", '{"number": "12"}', {"x-api-key": "k"}, cap=500)

    assert "wrk.method = [==[POST]==]" in script
    assert 'wrk.body = [==[{"number": "12"}]==]' in script
    assert "wrk.headers[ [==[x-api-key]==] ] = [==[k]==]" in script
    assert "if answered >= 500 then wrk.thread:stop() end" in script
    assert "done = function(summary, latency, requests)" in script


def test_without_a_cap_no_thread_stops_early():
    assert "answered >= math.huge" in _script("GET", None, {}, cap=None)


def test_text_that_would_end_the_lua_string_is_refused():
    with pytest.raises(ValueError):
        _lua_string("a]==]b")


def test_percentiles_and_rate_come_from_the_cdf_and_the_measured_time():
    result = WrkResult(32, 1000, 0.5, 0, 0, ((50, 2.0), (99, 9.0), (100, 12.0)))

    assert (result.p50_ms, result.p99_ms, result.rate) == (2.0, 9.0, 2000.0)
