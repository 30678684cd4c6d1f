"""Run pages in headless Chromium (Playwright driving Debian's `chromium`): list, post-mortem, waterfall, screenshot."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.service import make_context
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.platform.hosting import bind_socket
from agentmortem.platform.settings import AuthSettings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def live_url(corpus) -> Iterator[str]:
    """The API + pages served over HTTP by uvicorn in a thread (same process, same engine)."""
    api = ApiSettings(rate_limit_per_hour=0, grafana_url="http://grafana.example:3000")
    app = build_app(make_context(corpus.store, api, AuthSettings(), None))
    sock = bind_socket("127.0.0.1", 0)
    sock.setblocking(True)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_run_list_and_failed_run_page(corpus, client, live_url, browser, tmp_path):
    stored = corpus.of("acme", "tool_error")
    run = client.get(f"/v1/runs/{stored.trace_id}").json()
    page = browser.new_page(viewport={"width": 1366, "height": 900})

    page.goto(f"{live_url}/")
    rows = page.locator("tr.run")
    assert rows.count() == 28 or rows.count() == min(50, client.get("/v1/runs").json()["total"])
    first = page.locator("tr.run").first
    newest = client.get("/v1/runs", params={"limit": 1}).json()["data"][0]
    assert first.get_attribute("data-run-id") == newest["run_id"]
    assert page.locator("tr.run .badge.class", has_text="tool_error").count() >= 1
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)

    page.fill("input[name=failure_class]", "tool_error")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    classes = page.locator("tr.run .badge.class").all_inner_texts()
    assert classes and set(classes) == {"tool_error"}

    page.locator(f'tr.run[data-run-id="{run["run_id"]}"] a').click()
    page.wait_for_load_state()
    assert page.locator("#headline").inner_text() == run["headline"].replace("`", "")
    assert page.locator("#failure-class").inner_text() == "tool_error"
    root_cause = page.locator("svg.waterfall g.root-cause")
    assert root_cause.count() == 1 and root_cause.get_attribute("data-span-id") == run["root_cause_span_id"]
    fill = root_cause.locator("rect.bar").evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(198, 40, 40)"  # drawn in the root-cause red
    assert page.locator("svg.waterfall g.critical").count() >= 2
    assert page.locator("#signals .sig[data-type=tool_error]").count() == 1
    assert "grafana.example:3000/explore" in page.locator("#grafana-link").get_attribute("href")
    shot = tmp_path / "run.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshots: {shot} {tmp_path / 'runs.png'}")
