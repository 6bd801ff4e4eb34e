"""A real server on a free port and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import BACKENDS

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(app):
    """Serve ``app`` on 127.0.0.1 at a free port in a thread; yield its base URL."""
    app.config["WTF_CSRF_ENABLED"] = True  # the real forms, tokens and all
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    # Requests still being served (werkzeug's request threads are daemons, not
    # joined by the server) finish before the app's engine is disposed: a
    # connection checked in after that stays in the old pool until the garbage
    # collector deletes it, and psycopg warns during whichever test runs then.
    for other in threading.enumerate():
        if other is not threading.current_thread() and "process_request_thread" in other.name:
            other.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI installs Debian's chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    # Irreversible steps ask for confirmation: accept, and keep what was asked.
    page.dialogs = []

    def accept(dialog):
        page.dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    yield page
    context.close()


def click_and_confirm(page, selector: str) -> str:
    """Click a button that asks first; wait for the question and for the page the accepted
    form leads to, and return the question (the ``dialog`` handler above accepts it).

    Reading ``page.dialogs`` right after ``page.click`` races the dialog event and the
    next page's load."""
    with page.expect_event("dialog") as asked, page.expect_navigation():
        page.click(selector)
    return asked.value.message


def login(page, base_url: str, username: str, password: str = "password123") -> None:
    page.goto(f"{base_url}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.fixture(params=[BACKENDS[-1]])
def backend(request) -> str:
    """One backend for the browser tests: PostgreSQL (production's) when it answers, else
    SQLite. What they add is the pages, forms and scripts in a real browser; every
    database path they take is run on both backends by the tests without a browser, and
    a browser test costs 7-17 s a backend."""
    return request.param
