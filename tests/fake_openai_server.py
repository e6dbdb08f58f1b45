"""A small OpenAI-compatible HTTP server for tests, running in a thread.

It serves ``POST …/chat/completions`` on any prefix — ``/v1/chat/completions``
for OpenAI and compatible servers, ``/openai/deployments/{name}/chat/completions``
for Azure — records every request (path, query, headers, JSON body) and answers
from a queue of scripted replies, or with ``default_text`` when the queue is
empty. A reply follows the request's ``stream`` flag (SSE or plain JSON) unless
it says otherwise.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def content(self, role: str) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == role)


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the response starts
    mode: str = "auto"  # auto (as requested), json, sse
    finish_reason: str | None = "stop"
    truncate: bool = False  # SSE: close the connection before the end
    usage: tuple[int, int] = (120, 80)
    model: str = "fake-model-1"


class FakeOpenAIServer:
    def __init__(self, default_text: str = "本市といたしましても重要な課題であると認識しております。\n【参照】なし") -> None:
        self.default_text = default_text
        self.requests: list[Recorded] = []
        self._replies: deque[Reply] = deque()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def queue(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_reply(self) -> Reply:
        return self._replies.popleft() if self._replies else Reply(text=self.default_text)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                try:
                    self._serve()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test) or stopped reading early

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                url = urlsplit(self.path)
                body = json.loads(raw or b"{}")
                server.requests.append(
                    Recorded("POST", url.path, parse_qs(url.query), {k.lower(): v for k, v in self.headers.items()}, body)
                )
                reply = server._next_reply()
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                if not url.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}}, {})
                elif reply.status != 200:
                    self._json(reply.status, {"error": {"message": f"status {reply.status}", "type": "server_error"}}, reply.headers)
                elif reply.mode == "sse" or (reply.mode == "auto" and body.get("stream")):
                    self._sse(reply)
                else:
                    self._json(200, _completion(reply), reply.headers)

            def _json(self, status: int, document: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(document, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                pieces = [reply.text[i : i + 7] for i in range(0, len(reply.text), 7)]
                if reply.truncate:
                    pieces = pieces[: max(1, len(pieces) // 2)]
                for piece in pieces:
                    self._event(_chunk(reply, {"content": piece}, None))
                if reply.truncate:
                    return
                self._event(_chunk(reply, {}, reply.finish_reason))
                usage = {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1], "total_tokens": sum(reply.usage)}
                self._event({**_chunk(reply, {}, None), "choices": [], "usage": usage})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, document: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(document, ensure_ascii=False).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _chunk(reply: Reply, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": reply.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": reply.model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": reply.finish_reason}
        ],
        "usage": {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1], "total_tokens": sum(reply.usage)},
    }
