"""A small W3C WebDriver client for the system's headless Chromium (chromedriver), over urllib.

Just what the browser tests need: open pages, find elements (the driver's implicit
wait covers pages still loading), click, type, press keys, run a script, read
cookies, take screenshots. The driver waits for navigations a click starts, so
tests wait on the browser, never on the clock. Nothing is downloaded: the
chromedriver and Chromium of the system's packages are used as they are.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
KEYS = {"ArrowLeft": "\ue012", "ArrowRight": "\ue014", "Escape": "\ue00c", "Enter": "\ue007"}
WIDTH, HEIGHT = 1366, 768


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMEDRIVER, CHROMIUM):
        if shutil.which(path) is None:
            return f"{path} がありません（scripts/ensure-test-tools.sh が chromium と chromium-driver を入れます）"
    return None


class WebDriverError(AssertionError):
    pass


class Element:
    def __init__(self, browser: Browser, element_id: str) -> None:
        self.browser, self.id = browser, element_id

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return self.browser.call(method, f"/element/{self.id}{path}", body)

    def click(self) -> None:
        self._call("POST", "/click", {})

    def click_to_load(self) -> None:
        """Click a link or submit button and wait for the page it loads: a click may return before
        the navigation starts, and elements found meanwhile would belong to the old page."""
        self.browser.script("window.__cbLeaving = true;")
        self.click()
        self.browser.wait_until("return !window.__cbLeaving && document.readyState === 'complete';", "the next page")

    def type(self, text: str) -> None:
        self._call("POST", "/value", {"text": text})

    @property
    def text(self) -> str:
        return str(self._call("GET", "/text"))

    def prop(self, name: str) -> Any:
        return self._call("GET", f"/property/{name}")

    @property
    def displayed(self) -> bool:
        return bool(self._call("GET", "/displayed"))


class Browser:
    """One chromedriver with one headless Chromium session at 1366×768."""

    def __init__(self, *, implicit_wait_ms: int = 10000) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        # The driver says when it listens: wait for that line rather than for time to pass.
        for line in self.process.stdout:
            if "started successfully" in line:
                break
        else:
            raise WebDriverError("chromedriver did not start")
        self.base = f"http://127.0.0.1:{port}"
        options = {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                f"--window-size={WIDTH},{HEIGHT}",
                "--lang=ja-JP",
                "--no-first-run",
                "--disable-extensions",
            ],
        }
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        self.session = self._request("POST", "/session", caps)["sessionId"]
        self.call("POST", "/timeouts", {"implicit": implicit_wait_ms, "pageLoad": 60000, "script": 30000})

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b"{}")["value"]
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("value", {})
            raise WebDriverError(
                f"{method} {path}: {detail.get('error')}: {str(detail.get('message'))[:300]}"
            ) from None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self._request(method, f"/session/{self.session}{path}", body)

    def close(self) -> None:
        try:
            self._request("DELETE", f"/session/{self.session}")
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)

    # --- what a person does --------------------------------------------------------

    def open(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self.call("GET", "/url"))

    def find(self, css: str) -> Element:
        return Element(self, self.call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[Element]:
        return [
            Element(self, e[ELEMENT]) for e in self.call("POST", "/elements", {"using": "css selector", "value": css})
        ]

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def press(self, key: str) -> None:
        code = KEYS.get(key, key)
        self.call(
            "POST",
            "/actions",
            {
                "actions": [
                    {
                        "type": "key",
                        "id": "keyboard",
                        "actions": [{"type": "keyDown", "value": code}, {"type": "keyUp", "value": code}],
                    }
                ]
            },
        )

    def script(self, source: str, *args: Any) -> Any:
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def wait_until(self, condition: str, what: str, attempts: int = 1500) -> None:
        """Poll a script until it returns true (each poll is a round trip to the browser)."""
        for _ in range(attempts):
            try:
                if self.script(condition):
                    return
            except WebDriverError:
                pass  # the page is being replaced: ask again
            time.sleep(0.02)
        raise WebDriverError(f"timed out waiting for {what}")

    def cookies(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/cookie"))

    def extra_headers(self, headers: dict[str, str]) -> None:
        """Send these headers with every request, as an intranet proxy would add them (Chromium's DevTools)."""
        self.call("POST", "/goog/cdp/execute", {"cmd": "Network.enable", "params": {}})
        self.call("POST", "/goog/cdp/execute", {"cmd": "Network.setExtraHTTPHeaders", "params": {"headers": headers}})

    def print_pdf(self, path: Path) -> Path:
        """Print the page as the browser's print dialog would, honouring the page's @page size."""
        result = self.call(
            "POST",
            "/goog/cdp/execute",
            {"cmd": "Page.printToPDF", "params": {"preferCSSPageSize": True, "printBackground": False}},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))
        return path
