"""A local fake of Slack's Web API, running in a thread, that records every call.

Modelled on bolt-python's ``tests/mock_web_api_server``: the app under test gets
``SLACK_API_URL=<fake>/api/`` and talks to it over real HTTP. Every request is
kept as a ``Call`` (method, form or JSON arguments, headers including
Authorization), so tests assert on what reached "Slack". Besides the Web API
methods it serves the three other URLs Slack hands out: the upload URL from
``files.getUploadURLExternal``, private file downloads, and response_urls.

``rate_limit_once(method)`` answers that method's next call with HTTP 429 and
``Retry-After``, as Slack does; ``fail(method, error, **matching)`` answers
matching calls with ``{"ok": false, "error": …}``; ``hold(method, **matching)`` keeps
matching calls waiting until the returned event is set, to see what the app
does before they complete. Shared with the reminders' tests.

Socket Mode: ``apps.connections.open`` (with the app-level token, as Slack
requires) hands out the ``ws://`` URL of ``FakeSocketMode``, a minimal
WebSocket server (RFC 6455 handshake, unfragmented text, ping/pong and close
frames — what slack_sdk's builtin client uses) that sends envelopes and
records what the app sends back.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0TEST-1-test"
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
        self._failing: list[tuple[str, str, dict[str, Any]]] = []
        self._held: list[tuple[str, threading.Event, dict[str, Any]]] = []
        self.socket_mode = FakeSocketMode()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _, release, _ in self._held:
            release.set()
        self.socket_mode.close()
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

    def fail(self, method: str, error: str, **matching: Any) -> None:
        """Answer every call of ``method`` whose arguments match with Slack's error ``error``."""
        self._failing.append((method, error, matching))

    def hold(self, method: str, **matching: Any) -> threading.Event:
        """Keep calls of ``method`` (or "response_url") whose arguments match waiting until the returned event is set."""
        release = threading.Event()
        self._held.append((method, release, matching))
        return release

    def _wait_if_held(self, method: str, args: dict[str, Any] | None = None) -> None:
        for held, release, matching in list(self._held):
            if held == method and all((args or {}).get(k) == v for k, v in matching.items()):
                release.wait(timeout=30)

    def _failure(self, method: str, args: dict[str, Any]) -> str | None:
        return next(
            (e for m, e, match in self._failing if m == method and all(args.get(k) == v for k, v in match.items())),
            None,
        )

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
            return [
                (ts, m) for (ch, ts), m in list(self.messages.items()) if ch == channel and m.get("user") == BOT_USER_ID
            ]

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
        error = self._failure(method, args)
        if error:
            return {"ok": False, "error": error}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_mode.url}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "test",
                "user": "councilbot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "BBOT",
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = self._next_ts()
            message = {
                "ts": ts,
                "text": args.get("text"),
                "blocks": _maybe_json(args.get("blocks")),
                "thread_ts": args.get("thread_ts"),
                "user": BOT_USER_ID,
            }
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
            return {
                "ok": True,
                "user": {"id": args.get("user"), "name": str(args.get("user")).lower(), "tz": "Asia/Tokyo"},
            }
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
            return {
                "ok": True,
                "file": {
                    "id": f.id,
                    "name": f.name,
                    "size": len(f.content),
                    "url_private_download": f"{self.root}/files/{f.id}/{f.name}",
                    "shares": {"public": {f.channel: [{"ts": f.ts}]}},
                },
            }
        return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str = "application/json; charset=utf-8",
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _headers(self) -> dict[str, str]:
                return {k.lower(): v for k, v in self.headers.items()}

            def do_GET(self) -> None:
                parts = urlsplit(self.path).path.split("/")
                fake._record(Call("download", {"path": self.path}, self._headers()))
                f = fake.files.get(parts[2]) if len(parts) > 2 and parts[1] == "files" else None
                if f is None or self.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, f.content, "application/octet-stream")

            def do_POST(self) -> None:
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
                    fake._wait_if_held("response_url")
                    self._send(200, b"ok", "text/plain")
                    return
                method = path.removeprefix("/api/")
                args = _parse_args(headers.get("content-type", ""), raw, urlsplit(self.path).query)
                fake._record(Call(method, args, headers, raw))
                if method in fake._rate_limited:
                    retry_after = fake._rate_limited.pop(method)
                    self._send(429, b'{"ok":false,"error":"ratelimited"}', headers={"Retry-After": str(retry_after)})
                    return
                # apps.connections.open takes the app-level token and only it; every other method the bot token.
                token = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
                if headers.get("authorization") != f"Bearer {token}":
                    error = (
                        "not_allowed_token_type"
                        if headers.get("authorization", "").startswith("Bearer x")
                        else "invalid_auth"
                    )
                    self._send(200, json.dumps({"ok": False, "error": error}).encode())
                    return
                fake._wait_if_held(method, args)
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


# --- Socket Mode ---------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    """Slack's Socket Mode endpoint: one WebSocket connection at a time, envelopes out, acks in."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._cv = threading.Condition()
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self.received: list[dict[str, Any]] = []  # what the app sent: acks ({"envelope_id", "payload"?})
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.getsockname()[1]}/link/?ticket=test-ticket&app_id=A0TEST"

    def close(self) -> None:
        self._server.close()
        with self._cv:
            if self._conn is not None:
                self._conn.close()

    # --- what tests do -----------------------------------------------------------

    def wait_connected(self, timeout: float = 15.0) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: self._conn is not None, timeout=timeout):
                raise AssertionError("the app did not open a Socket Mode connection")

    def send(self, message: dict[str, Any]) -> None:
        with self._cv:
            conn = self._conn
        assert conn is not None, "no Socket Mode connection"
        self._write(conn, OP_TEXT, json.dumps(message, ensure_ascii=False).encode())

    def wait_ack(self, envelope_id: str, timeout: float = 15.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((m for m in self.received if m.get("envelope_id") == envelope_id), None)

        with self._cv:
            if not self._cv.wait_for(lambda: found() is not None, timeout=timeout):
                raise AssertionError(f"no acknowledgement of {envelope_id}; received {self.received}")
            return found()  # type: ignore[return-value]

    # --- the server ----------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        reader.readline()  # GET /link/?ticket=… HTTP/1.1
        headers = {}
        while line := reader.readline().strip():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest()).decode()
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        with self._cv:
            self._conn = conn
            self.connections += 1
            self._cv.notify_all()
        try:
            while (frame := _read_frame(reader)) is not None:
                opcode, data = frame
                if opcode == OP_TEXT:
                    with self._cv:
                        self.received.append(json.loads(data))
                        self._cv.notify_all()
                elif opcode == OP_PING:
                    self._write(conn, OP_PONG, data)
                elif opcode == OP_CLOSE:
                    self._write(conn, OP_CLOSE, data[:2])
                    break
        except OSError:
            pass
        finally:
            conn.close()

    def _write(self, conn: socket.socket, opcode: int, data: bytes) -> None:
        """One final, unmasked frame (a server never masks)."""
        n = len(data)
        length = bytes([n]) if n < 126 else struct.pack("!BH", 126, n) if n < 1 << 16 else struct.pack("!BQ", 127, n)
        with self._send_lock:
            conn.sendall(bytes([0x80 | opcode]) + length + data)


def _read_frame(reader: Any) -> tuple[int, bytes] | None:
    """One frame from the client (always masked); None when the connection is gone."""
    head = reader.read(2)
    if len(head) < 2:
        return None
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", reader.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", reader.read(8))[0]
    mask = reader.read(4) if head[1] & 0x80 else b""
    data = reader.read(n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return head[0] & 0x0F, data
