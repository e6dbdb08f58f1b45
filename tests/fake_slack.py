"""A local fake of Slack's Web API, running in a thread, that records every call.

Modelled on bolt-python's ``tests/mock_web_api_server``: the app under test gets
``SLACK_API_URL=<fake>/api/`` and talks to it over real HTTP. Every request is
kept as a ``Call`` (method, form or JSON arguments, headers including
Authorization), so tests assert on what reached "Slack". Besides the Web API
methods it serves the three other URLs Slack hands out: the upload URL from
``files.getUploadURLExternal``, private file downloads, and response_urls.

``rate_limit_once(method)`` answers that method's next call with HTTP 429 and
``Retry-After``, as Slack does. Shared with the reminders' tests.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT_TOKEN = "xoxb-test-token"
BOT_USER_ID = "UBOT"
TEAM_ID = "T0TEST"


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage"), or "upload" / "response_url"
    args: dict[str, Any]
    headers: dict[str, str]  # lower-case names
    raw: bytes = b""

    def json_arg(self, name: str) -> Any:
        value = self.args.get(name)
        return json.loads(value) if isinstance(value, str) else value

    @property
    def text(self) -> str:
        """The message text and every text in its blocks, for assertions on what people read."""
        parts = [str(self.args.get("text") or "")]
        for key in ("blocks", "view"):
            value = self.json_arg(key)
            if value:
                parts.append(json.dumps(value, ensure_ascii=False))
        return "\n".join(parts)


@dataclass
class FakeFile:
    id: str
    name: str
    content: bytes
    channel: str
    ts: str


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) → message
    files: dict[str, FakeFile] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._rate_limited: dict[str, int] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def root(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.root}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.root}/response/{name}"

    # --- test controls -------------------------------------------------------

    def rate_limit_once(self, method: str, retry_after: int = 0) -> None:
        self._rate_limited[method] = retry_after

    def add_message(self, channel: str, ts: str, text: str, user: str) -> None:
        self.messages[(channel, ts)] = {"type": "message", "channel": channel, "ts": ts, "text": text, "user": user}

    def add_file(self, file_id: str, name: str, content: bytes, channel: str, ts: str) -> None:
        self.files[file_id] = FakeFile(file_id, name, content, channel, ts)

    # --- queries -------------------------------------------------------------

    def of(self, method: str, **matching: Any) -> list[Call]:
        with self._lock:
            found = [c for c in self.calls if c.method == method]
        return [c for c in found if all(c.args.get(k) == v for k, v in matching.items())]

    def posts(self, channel: str) -> list[tuple[str, dict[str, Any]]]:
        """Messages the bot posted in ``channel`` (a DM is ``"D" + user id``), oldest first, as (ts, message)."""
        with self._lock:
            return [(ts, m) for (ch, ts), m in list(self.messages.items()) if ch == channel and m.get("user") == BOT_USER_ID]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Poll until ``predicate()`` is truthy (work happens after Slack is acknowledged)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting; calls so far: {[c.method for c in self.calls]}")

    # --- the server ----------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _api(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "test", "user": "councilbot", "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "BBOT"}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = self._next_ts()
            message = {"ts": ts, "text": args.get("text"), "blocks": _maybe_json(args.get("blocks")), "thread_ts": args.get("thread_ts"), "user": BOT_USER_ID}
            self.messages[(str(args.get("channel")), ts)] = message
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            key = (str(args.get("channel")), str(args.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key].update(text=args.get("text"), blocks=_maybe_json(args.get("blocks")))
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            view = _maybe_json(args.get("view")) or {}
            return {"ok": True, "view": {**view, "id": f"V{next(self._ids):05d}", "hash": "h1"}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0]}}
        if method == "conversations.history":
            found = self.messages.get((str(args.get("channel")), str(args.get("latest"))))
            return {"ok": True, "messages": [found] if found else []}
        if method == "users.info":
            return {"ok": True, "user": {"id": args.get("user"), "name": str(args.get("user")).lower(), "tz": "Asia/Tokyo"}}
        if method == "reactions.add":
            return {"ok": True}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):05d}"
            return {"ok": True, "upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = _maybe_json(args.get("files")) or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "files.info":
            f = self.files.get(str(args.get("file")))
            if f is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": {
                "id": f.id, "name": f.name, "size": len(f.content),
                "url_private_download": f"{self.root}/files/{f.id}/{f.name}",
                "shares": {"public": {f.channel: [{"ts": f.ts}]}},
            }}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _headers(self) -> dict[str, str]:
                return {k.lower(): v for k, v in self.headers.items()}

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path).path.split("/")
                fake._record(Call("download", {"path": self.path}, self._headers()))
                f = fake.files.get(parts[2]) if len(parts) > 2 and parts[1] == "files" else None
                if f is None or self.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, f.content, "application/octet-stream")

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                path = urlsplit(self.path).path
                headers = self._headers()
                if path.startswith("/upload/"):
                    fake.uploads[path.rsplit("/", 1)[1]] = raw
                    fake._record(Call("upload", {"file_id": path.rsplit("/", 1)[1], "size": len(raw)}, headers, raw))
                    self._send(200, b"OK", "text/plain")
                    return
                if path.startswith("/response/"):
                    fake._record(Call("response_url", json.loads(raw or b"{}"), headers, raw))
                    self._send(200, b"ok", "text/plain")
                    return
                method = path.removeprefix("/api/")
                args = _parse_args(headers.get("content-type", ""), raw, urlsplit(self.path).query)
                fake._record(Call(method, args, headers, raw))
                if method in fake._rate_limited:
                    retry_after = fake._rate_limited.pop(method)
                    self._send(429, b'{"ok":false,"error":"ratelimited"}', headers={"Retry-After": str(retry_after)})
                    return
                if headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                    self._send(200, b'{"ok":false,"error":"invalid_auth"}')
                    return
                self._send(200, json.dumps(fake._api(method, args), ensure_ascii=False).encode())

        return Handler


def _parse_args(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    if "application/json" in content_type:
        args.update(json.loads(raw or b"{}"))
    elif raw:
        args.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()})
    return args


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
