"""The status page of ``sqlc serve`` (GET /) in a real headless Chromium
(tests/browser.py): it loads, shows a submitted query with its numbers, its
chart and its plan, and follows the query's state by polling the API: a
pause made elsewhere shows as PAUSED without a reload, and the page's own
resume button resumes it. Off loopback, the page's buttons need the token
as any other request that changes something."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from compiler.manager.http import ClientError, call
from tests.browser import Browser, chromium_or_skip
from tests.polling import wait_for
from tests.test_manager import SQL, feed, ids, manager, state_of


@pytest.fixture(scope="module")
def browser():
    page = Browser(chromium_or_skip())
    try:
        yield page
    finally:
        page.close()


def shown_state(browser: Browser, name: str) -> str | None:
    return browser.js(f"document.querySelector('#q-{name} .state')?.textContent ?? null")


def test_page_shows_a_query_and_follows_a_pause(browser, kafka_broker, tmp_path: Path):
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("page"), 1)
    out = tmp_path / "out.jsonl"
    feed(kafka_broker, topic, 0, 10)
    with manager(tmp_path / "state") as url:
        call(url, "POST", "/queries", {"name": "feed", "sql": SQL, "args": [
            "--input", f"llm_requests=kafka:{topic}", "--bootstrap", kafka_broker.bootstrap,
            "--output", str(out)]})
        with urllib.request.urlopen(url + "/") as reply:
            assert reply.headers["Content-Type"].startswith("text/html")
        browser.go(url + "/")
        browser.js("window.sqlcLoadedOnce = 'yes'")  # gone if the page reloads
        wait_for(lambda: shown_state(browser, "feed") == "RUNNING", what="RUNNING on the page")
        wait_for(lambda: browser.js(
            "document.querySelector('#q-feed [data-key=records_in]').textContent") == "10",
            what="the records read on the page")
        wait_for(lambda: len(ids(out)) == 10, what="10 rows")
        # the chart: a line per series once the manager has samples
        wait_for(lambda: browser.js(
            "document.querySelector('#q-feed .chart polyline')?.getAttribute('points')"
            ".split(' ').length > 1"), what="a chart with samples")
        kept = call(url, "GET", "/history")["feed"]
        assert kept and all(len(sample) == 4 for sample in kept)
        later = call(url, "GET", f"/history?since={kept[-1][0]}")["feed"]  # only newer ones
        assert all(sample[0] > kept[-1][0] for sample in later) and len(later) < len(kept)
        with pytest.raises(ClientError) as error:
            call(url, "GET", "/history?since=yesterday")
        assert error.value.status == 400
        # the plan: an SVG image the browser decoded, with the query's operators
        browser.js("document.querySelector('#q-feed details.plan').open = true")
        wait_for(lambda: browser.js(
            "(i => i.complete && i.naturalWidth > 100)(document.querySelector('#q-feed .plan img'))"),
            what="the plan drawn")
        plan = browser.js("fetch(document.querySelector('#q-feed .plan img').src)"
                          ".then(r => r.text())")
        assert "SourceExec" in plan and "SinkExec" in plan
        # a pause through the API: the page follows without a reload
        call(url, "POST", "/queries/feed/pause")
        wait_for(lambda: shown_state(browser, "feed") == "PAUSED", what="PAUSED on the page")
        assert browser.js("window.sqlcLoadedOnce") == "yes"
        assert browser.js("document.querySelector('#q-feed [data-key=uptime]').textContent") == "-"
        # the page's resume button: RUNNING again, the rows fed meanwhile come out once
        feed(kafka_broker, topic, 10, 5)
        browser.js("document.querySelector('#q-feed button[data-verb=resume]').click()")
        state_of(url, "feed", "RUNNING")
        wait_for(lambda: shown_state(browser, "feed") == "RUNNING", what="RUNNING again")
        wait_for(lambda: len(ids(out)) >= 15, what="15 rows")
        assert browser.js("window.sqlcLoadedOnce") == "yes"
    assert ids(out) == [f"r{i}" for i in range(15)]


def test_off_loopback_the_buttons_need_the_token(browser, kafka_broker, tmp_path: Path):
    token = "s3cret"
    topic = kafka_broker.create_topic(kafka_broker.unique_topic("token"), 1)
    with manager(tmp_path / "state", "--host", "0.0.0.0", "--token", token) as url:
        call(url, "POST", "/queries", {"name": "guarded", "sql": SQL, "args": [
            "--input", f"llm_requests=kafka:{topic}", "--bootstrap", kafka_broker.bootstrap,
            "--output", str(tmp_path / "out.jsonl")]}, token=token)
        browser.go(url + "/")  # reading needs no token, as GET /queries
        wait_for(lambda: shown_state(browser, "guarded") == "RUNNING", what="on the page")
        browser.js("document.querySelector('#q-guarded button[data-verb=stop]').click()")
        wait_for(lambda: "Authorization" in browser.js(
            "document.querySelector('#q-guarded .message').textContent"), what="refused")
        assert call(url, "GET", "/queries/guarded")["state"] != "CANCELLED"
        browser.js(f"(f => {{ f.value = {json.dumps(token)}; f.dispatchEvent(new Event('change')) }})"
                   "(document.getElementById('token'))")
        browser.js("document.querySelector('#q-guarded button[data-verb=stop]').click()")
        state_of(url, "guarded", "CANCELLED")
        wait_for(lambda: shown_state(browser, "guarded") == "CANCELLED", what="CANCELLED shown")
        assert browser.js("document.querySelector('#q-guarded .message').textContent") == ""
