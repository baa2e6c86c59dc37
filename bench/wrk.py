"""Plain HTTP load with wrk (Debian's ``wrk``): one request shape, N connections, a few seconds.

Each run gets a Lua script written for it: the method, body and headers of the request, an
optional cap on the number of requests (so an async figure queues a bounded backlog), and a
``done`` hook that prints wrk's own latency percentiles as one JSON line. wrk measures
closed-loop: each connection sends its next request when the previous answer arrives. Given a
``rate``, the script paces the sends instead (wrk's ``delay`` hook): the latency of an offered
load, with at most ``connections`` requests in flight.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CDF_PERCENTILES", "WrkMissing", "WrkResult", "run_wrk", "wrk_available"]

CDF_PERCENTILES = (*range(1, 100), 99.5, 99.9, 100)
"""The percentiles read from wrk's histogram, enough for a CDF plot (100 is the maximum)."""
TIMEOUT_SECONDS = 10
"""wrk drops an answer slower than its timeout from the latency figures (2 s by default)."""
INSTALL_HINT = "make bench and its tests need wrk: sudo apt-get install wrk"
_MARKER = "WRK_JSON "


class WrkMissing(RuntimeError):
    """``wrk`` is not on PATH."""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured; latencies in milliseconds."""

    connections: int
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    cdf: tuple[tuple[float, float], ...]
    """(percentile, latency ms) pairs."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return next(ms for q, ms in self.cdf if q >= p)

    @property
    def p50_ms(self) -> float:
        return self.percentile(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile(99)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    method: str = "GET",
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    max_requests: int | None = None,
    rate: float | None = None,
) -> WrkResult:
    """Load ``url`` for ``seconds`` (or until ``max_requests`` answers) and read the figures.
    ``rate``: requests per second over all connections, paced; None sends as fast as answers
    come back."""
    if not wrk_available():
        raise WrkMissing(INSTALL_HINT)
    if seconds != int(seconds):
        raise ValueError(f"wrk's duration is whole seconds, not {seconds}")
    threads = 1 if connections == 1 else 2  # this machine has two cores; wrk needs few threads
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "request.lua"
        cap = None if max_requests is None else max(1, max_requests // threads)
        interval_ms = None if rate is None else 1000 * threads / rate
        script.write_text(_script(method, body, headers or {}, cap, interval_ms))
        run = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                f"--timeout={TIMEOUT_SECONDS}s",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + TIMEOUT_SECONDS + 30,
            check=False,
        )
    line = next((x for x in run.stdout.splitlines() if x.startswith(_MARKER)), None)
    if run.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stdout}{run.stderr}")
    figures = json.loads(line.removeprefix(_MARKER))
    errors = figures["errors"]
    return WrkResult(
        connections=connections,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        non_2xx=errors["status"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        cdf=tuple((p, us / 1000) for p, us in figures["cdf"]),
    )


def _script(
    method: str,
    body: str | None,
    headers: Mapping[str, str],
    cap: int | None,
    interval_ms: float | None = None,
) -> str:
    lines = [f"wrk.method = {_lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    lines.append(_CLOCK.replace("CAP", str(cap if cap is not None else "math.huge")))
    if interval_ms is not None:
        lines.append(_PACE.replace("INTERVAL", f"{interval_ms:.6f}"))
    percentiles = ", ".join(f"{p:g}" for p in CDF_PERCENTILES)
    lines.append(_DONE.replace("PERCENTILES", percentiles).replace("MARKER", _MARKER))
    return "\n".join(lines) + "\n"


def _lua_string(text: str) -> str:
    if "]==]" in text:
        raise ValueError(f"cannot quote {text!r:.40} for Lua")
    return f"[==[{text}]==]"


# Each wrk thread runs its own copy of the script; ``done`` runs in the main one and reads the
# threads' globals. wrk's own duration is always the whole -d, even when every thread stopped
# early at its cap, so the time from the first thread's start to the last answer is taken
# with clock_gettime through LuaJIT's FFI.
_CLOCK = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local now = ffi.new("bench_timespec")
local function monotonic_us()
  ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
  return tonumber(now.tv_sec) * 1000000 + tonumber(now.tv_nsec) / 1000
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) first_us = monotonic_us(); last_us = first_us; answered = 0 end
response = function(status, headers, body)
  last_us = monotonic_us()
  answered = answered + 1
  if answered >= CAP then wrk.thread:stop() end
end
local function elapsed_us(summary)
  local first, last = math.huge, 0
  for _, thread in ipairs(threads) do
    first = math.min(first, thread:get("first_us"))
    last = math.max(last, thread:get("last_us"))
  end
  return last > first and last - first or summary.duration
end"""

# A thread's connections take its send slots in turn, one every INTERVAL ms. A slot missed
# while every connection waited for an answer is still sent, as soon as one is free, so a
# stall is followed by the load that queued behind it rather than skipped (wrk times each
# request from its send, so the wait before it is not in the figures). wrk truncates a delay
# to whole milliseconds; the slots are kept in fractions, so the rate holds.
_PACE = """
local next_slot_ms = nil
delay = function()
  local now_ms = monotonic_us() / 1000
  next_slot_ms = next_slot_ms or now_ms
  local wait_ms = next_slot_ms - now_ms
  next_slot_ms = next_slot_ms + INTERVAL
  return wait_ms > 0 and wait_ms or 0
end"""

_DONE = """
done = function(summary, latency, requests)
  local points = {}
  for _, p in ipairs({PERCENTILES}) do
    -- wrk answers 0 for the 100th percentile: its maximum is that
    local value = p < 100 and latency:percentile(p) or latency.max
    points[#points + 1] = string.format("[%g, %d]", p, value)
  end
  local e = summary.errors
  io.write(string.format(
    '\\nMARKER{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "cdf": [%s]}\\n',
    summary.requests, elapsed_us(summary), e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(points, ", ")))
end"""
