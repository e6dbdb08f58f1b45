"""Serving the web view to a real browser in tests: waitress on a free port, one headless Chromium.

Screenshots of every page go to ``test-output/web/`` (1366×768) for people to look at.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import waitress

from councilbot.adapters.web.app import create_web_app
from councilbot.services.common import get_user
from councilbot.services.web_access import issue_sign_in_link
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from tests.webdriver import Browser, unavailable

SCREENSHOTS = Path(__file__).parent.parent / "test-output" / "web"


class WebServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = waitress.create_server(
            create_web_app(settings), host="127.0.0.1", port=0, threads=4, asyncore_loop_timeout=0.1
        )
        self.base = f"http://127.0.0.1:{self.server.effective_port}"
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self._closing:
                raise

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self._thread.join(timeout=5)

    def link_for(self, user_id: str) -> str:
        """A sign-in link as ``/council web`` would send it, pointing at this server."""
        with session_scope(self.settings) as db:
            url = issue_sign_in_link(db, self.settings, get_user(db, user_id))
        return self.base + url[url.index("/signin") :]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = unavailable()
    if reason:
        pytest.skip(f"ブラウザのテストを省略します: {reason}")
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def sign_in(browser: Browser, web: WebServer, user_id: str) -> None:
    """Open a fresh sign-in link for ``user_id``; the page's script signs in and lands on the dashboard."""
    browser.call("DELETE", "/cookie")
    browser.open("about:blank")  # a fresh page load, whatever page was open
    browser.open(web.link_for(user_id))
    browser.find("table#progress")


def shot(browser: Browser, name: str) -> Path:
    return browser.screenshot(SCREENSHOTS / f"{name}.png")
