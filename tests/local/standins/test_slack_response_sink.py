"""The response-URL sink keeps what workers post, within bounds."""

from __future__ import annotations

import pytest

from local.standins import slack_response_sink
from local.standins.slack_response_sink import RETENTION_SECONDS, ResponseSink


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_posts_are_kept_per_url_oldest_first():
    sink = ResponseSink(Clock())
    sink.post("a", {"text": "one"})
    sink.post("b", {"text": "other"})
    sink.post("a", {"text": "two"})
    assert sink.posts("a") == [{"text": "one"}, {"text": "two"}]
    assert sink.posts("unknown") == []


def test_a_url_is_forgotten_when_slack_would_no_longer_honour_it():
    clock = Clock()
    sink = ResponseSink(clock)
    sink.post("old", {"text": "1"})
    clock.now = RETENTION_SECONDS - 1
    sink.post("new", {"text": "2"})
    assert sink.posts("old") == [{"text": "1"}]
    clock.now = RETENTION_SECONDS + 1
    assert sink.posts("old") == []
    assert sink.posts("new") == [{"text": "2"}]


def test_only_the_most_recent_urls_are_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(slack_response_sink, "MAX_URLS", 3)
    sink = ResponseSink(Clock())
    for n in range(5):
        sink.post(f"u{n}", {"n": n})
    assert len(sink) == 3
    assert sink.posts("u1") == [] and sink.posts("u4") == [{"n": 4}]
