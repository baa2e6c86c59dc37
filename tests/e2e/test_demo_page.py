"""The streaming demo page in headless Chromium (Debian's package, driven by Playwright)
against a real `ackflow up`: the answer grows chunk by chunk to the stand-in's full reply, and
an injected fault is shown as an error."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.runner import RunningStack
from tests.e2e.test_streaming import stand_in_reply

CHROMIUM = "/usr/bin/chromium"
INSTALL = (
    "the demo page test needs Debian's chromium: `sudo apt-get install chromium` "
    "(make test installs it when it runs as root)"
)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(INSTALL)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, running_stack: RunningStack) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(running_stack.endpoints["web_url"])
    expect(opened.get_by_label("GraphQL URL")).to_have_value(running_stack.endpoints["graphql_url"])
    yield opened
    context.close()


def ask(page: Page, prompt: str) -> None:
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Send").click()


def test_the_answer_grows_in_several_steps_to_the_full_reply(page, running_stack):
    prompt = "Explain how a kite flies"
    ask(page, prompt)
    answer = page.get_by_role("log")
    lengths: list[int] = []
    deadline = time.monotonic() + 30
    while "Done" not in (page.get_by_role("status").first.text_content() or ""):
        assert time.monotonic() < deadline, "the stream did not finish"
        lengths.append(len(answer.text_content() or ""))
        time.sleep(0.02)
    expected = stand_in_reply(running_stack, prompt)["output"]["message"]["content"][0]["text"]

    assert answer.text_content() == expected
    growth = sorted(set(lengths) - {0})
    assert len(growth) >= 3, f"the answer appeared in {len(growth)} step(s): {growth}"
    assert lengths == sorted(lengths)  # it only ever grew
    expect(page.get_by_role("status").first).to_contain_text("stop reason end_turn")


def test_an_injected_fault_is_shown_as_an_error(page):
    ask(page, "Glaciers [ackflow-fault: midstream after=5]")

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible(timeout=30_000)
    expect(alert).to_contain_text("modelStreamErrorException")
