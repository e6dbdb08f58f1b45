"""A small OpenAI-compatible HTTP server for tests, running in a thread.

It serves ``POST …/chat/completions`` and ``POST …/embeddings`` on any prefix —
``/v1/…`` for OpenAI and compatible servers, ``/openai/deployments/{name}/…``
for Azure — records every request (path, query, headers, JSON body) and answers
from one queue of scripted replies, or with ``default_text`` when the queue is
empty. A chat reply follows the request's ``stream`` flag (SSE or plain JSON)
unless it says otherwise.

An embeddings request takes the next reply too: its ``status`` and ``delay``
apply (a scripted failure fails whichever request comes next), its text does
not. The vectors are a hashed bag of the character bigrams of each input
(``embedding_dim`` wide, L2-normalised): deterministic, and texts that share
words are closer, which is enough to rank in tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
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

    @property
    def is_embeddings(self) -> bool:
        return self.path.endswith("/embeddings")

    @property
    def inputs(self) -> list[str]:
        """The texts of an embeddings request (``input`` as a string or a list)."""
        value = self.body.get("input", [])
        return [value] if isinstance(value, str) else list(value)


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the response starts
    mode: str = "auto"  # auto (as requested), json, sse
    finish_reason: str | None = "stop"
    truncate: bool = False  # SSE: close the connection before the end
    cut: bool = False  # SSE: promise more bytes (content-length) than are sent, then drop the connection
    usage: tuple[int, int] = (120, 80)
    model: str = "fake-model-1"


class FakeOpenAIServer:
    def __init__(
        self,
        default_text: str = "本市といたしましても重要な課題であると認識しております。\n【参照】なし",
        embedding_dim: int = 64,
    ) -> None:
        self.default_text = default_text
        self.embedding_dim = embedding_dim
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

    @property
    def embedding_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_embeddings]

    @property
    def embedded_texts(self) -> list[str]:
        """Every text sent for embedding, in order (a request's inputs in its order)."""
        return [text for r in self.embedding_requests for text in r.inputs]

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

            def do_POST(self) -> None:
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
                    Recorded(
                        "POST", url.path, parse_qs(url.query), {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                reply = server._next_reply()
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                embeddings = url.path.endswith("/embeddings")
                if not (embeddings or url.path.endswith("/chat/completions")):
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}}, {})
                elif reply.status != 200:
                    self._json(
                        reply.status,
                        {"error": {"message": f"status {reply.status}", "type": "server_error"}},
                        reply.headers,
                    )
                elif embeddings:
                    self._json(200, _embeddings(body, server.embedding_dim), reply.headers)
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
                if reply.cut:
                    self.send_header("content-length", "1000000")
                self.end_headers()
                pieces = [reply.text[i : i + 7] for i in range(0, len(reply.text), 7)]
                if reply.truncate or reply.cut:
                    pieces = pieces[: max(1, len(pieces) // 2)]
                for piece in pieces:
                    self._event(_chunk(reply, {"content": piece}, None))
                if reply.truncate or reply.cut:
                    return
                self._event(_chunk(reply, {}, reply.finish_reason))
                usage = {
                    "prompt_tokens": reply.usage[0],
                    "completion_tokens": reply.usage[1],
                    "total_tokens": sum(reply.usage),
                }
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
        "usage": {
            "prompt_tokens": reply.usage[0],
            "completion_tokens": reply.usage[1],
            "total_tokens": sum(reply.usage),
        },
    }


def bigram_vector(text: str, dim: int = 64) -> list[float]:
    """A hashed bag of the character bigrams of ``text`` (a lone character counts as itself), L2-normalised."""
    chars = [c for c in text if not c.isspace()]
    grams = ["".join(chars[i : i + 2]) for i in range(len(chars) - 1)] or chars
    vector = [0.0] * dim
    for gram in grams:
        vector[int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "little") % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    # All-zero is no direction at all; a fixed unit vector keeps an empty input valid (OpenAI embeds " " too).
    return [v / norm for v in vector] if norm else [1.0] + [0.0] * (dim - 1)


def _embeddings(body: dict[str, Any], dim: int) -> dict[str, Any]:
    """``POST /embeddings`` as OpenAI documents it: ``float`` lists, or ``base64`` little-endian float32."""
    value = body.get("input", [])
    texts = [value] if isinstance(value, str) else list(value)
    data = []
    for i, text in enumerate(texts):
        vector = bigram_vector(str(text), dim)
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    tokens = sum(len(str(t)) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "fake-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
