"""OpenAI, Azure OpenAI and any OpenAI-compatible server, through the ``openai`` client.

``LLM_TIMEOUT_SECONDS`` is the deadline of the whole draft: each attempt may use
only the time left, and retries (408/409/429/5xx and connection errors, with
exponential backoff honouring ``Retry-After``) stop when the deadline would pass.
A timed-out attempt is not retried: it has used the time there was. The reply is
limited to ``LLM_MAX_OUTPUT_TOKENS``. Every failure becomes a ``ProviderError``
whose Japanese message says what happened and what to do; nothing of the request
body is put in it. A reply cut off after it began is reported as cut off, not as
a connection that could not be made.

Streaming asks for usage in the final chunk (``stream_options.include_usage``).
A gateway that ignores ``stream`` and answers with plain JSON is accepted too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from typing import ClassVar, Literal

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from councilbot.domain.drafting import DraftRequest
from councilbot.errors import ProviderError
from councilbot.services.ports import DraftingProvider, Generation

_FINISHED = "stop"
_FINISH_PROBLEMS = {
    "length": "出力の上限（LLM_MAX_OUTPUT_TOKENS）に達して答弁案が途中で切れました。",
    "content_filter": "生成AI側の内容フィルタにより答弁案が途中で止められました。",
}


class OpenAICompatProvider(DraftingProvider):
    origin: ClassVar[Literal["ai", "offline"]] = "ai"
    sends_text: ClassVar[bool] = True

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        kind: str,
        timeout_seconds: float,
        max_retries: int = 0,
        max_output_tokens: int | None = None,
    ) -> None:
        self._client = client
        self.model = model
        self.kind = kind
        self._timeout_seconds = timeout_seconds
        self._max_retries = max_retries
        self._max_output_tokens = max_output_tokens

    def stream(self, request: DraftRequest) -> Generator[str, None, Generation]:
        deadline = time.monotonic() + self._timeout_seconds
        response = self._open(request, deadline)
        try:
            if "application/json" in response.response.headers.get("content-type", ""):
                return (yield from self._plain_json(response.response.read()))
            return (yield from self._chunks(response, deadline))
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            raise ProviderError(self._deadline_passed()) from exc
        except (openai.APIError, httpx.HTTPError) as exc:
            raise ProviderError(
                f"{self._name()}の応答が途中で途切れました（接続が切られました）。"
                "もう一度お試しください。下書きは保存していません。"
            ) from exc

    def _open(self, request: DraftRequest, deadline: float) -> openai.Stream[ChatCompletionChunk]:
        """The streamed response, after as many retries as the deadline and LLM_MAX_RETRIES allow."""
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": m.content} if m.role == "system" else {"role": "user", "content": m.content}
            for m in request.messages
        ]
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(self._deadline_passed())
            try:
                return self._client.with_options(timeout=remaining, max_retries=0).chat.completions.create(
                    model=self.model,
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
                    max_tokens=self._max_output_tokens or openai.omit,
                )
            except openai.APITimeoutError as exc:
                raise ProviderError(self._deadline_passed()) from exc
            except openai.APIError as exc:
                wait = _retry_wait(exc, attempt)
                if wait is None or attempt >= self._max_retries or time.monotonic() + wait >= deadline:
                    raise ProviderError(self._explain(exc)) from exc
                time.sleep(wait)  # backoff the server asked for (Retry-After), within the deadline
                attempt += 1

    def _deadline_passed(self) -> str:
        return (
            f"{self._name()}が{self._timeout_seconds:g}秒以内に応答しませんでした"
            "（LLM_TIMEOUT_SECONDS は再試行を含めた下書き全体の制限時間です）。"
            "時間をおいてもう一度お試しください。下書きは保存していません。"
        )

    def _chunks(self, response: openai.Stream, deadline: float) -> Generator[str, None, Generation]:  # type: ignore[type-arg]
        model, finish, usage = self.model, None, None
        with response:
            for chunk in response:
                if time.monotonic() > deadline:
                    raise ProviderError(self._deadline_passed())
                model = chunk.model or model
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield choice.delta.content
                    finish = choice.finish_reason or finish
        self._check_finish(finish)
        return Generation(
            model=model,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
        )

    def _plain_json(self, body: bytes) -> Generator[str, None, Generation]:
        try:
            completion = ChatCompletion.model_validate(json.loads(body))
        except ValueError as exc:
            raise ProviderError(
                f"{self._name()}の応答を読み取れませんでした。接続先が OpenAI 互換か確認してください。"
            ) from exc
        if not completion.choices:
            raise ProviderError(f"{self._name()}から答弁案が返ってきませんでした。")
        choice = completion.choices[0]
        self._check_finish(choice.finish_reason)
        if choice.message.content:
            yield choice.message.content
        usage = completion.usage
        return Generation(
            model=completion.model or self.model,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
        )

    def _check_finish(self, finish: str | None) -> None:
        if finish == _FINISHED:
            return
        problem = _FINISH_PROBLEMS.get(finish or "", "応答が最後まで届きませんでした。")
        raise ProviderError(f"{problem}下書きは保存していません。もう一度お試しください。")

    def _name(self) -> str:
        return service_name(self.kind)

    def _explain(self, exc: openai.APIError) -> str:
        return explain_api_error(
            exc,
            name=self._name(),
            model=self.model,
            model_setting="OPENAI_MODEL",
            timeout_seconds=self._timeout_seconds,
            tail="下書きは保存していません。",
        )


_RETRIED_STATUS = frozenset({408, 409, 429})
_FIRST_BACKOFF_SECONDS = 0.5
_MAX_BACKOFF_SECONDS = 8.0


def _retry_wait(exc: openai.APIError, attempt: int) -> float | None:
    """Seconds to wait before retrying ``exc``, or None when retrying cannot help."""
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code not in _RETRIED_STATUS and exc.status_code < 500:
            return None
        headers = exc.response.headers
        try:
            if "retry-after-ms" in headers:
                return float(headers["retry-after-ms"]) / 1000
            if "retry-after" in headers:
                return float(headers["retry-after"])
        except ValueError:
            pass
    elif not isinstance(exc, openai.APIConnectionError):
        return None
    return min(_FIRST_BACKOFF_SECONDS * 2.0**attempt, _MAX_BACKOFF_SECONDS)


def service_name(kind: str) -> str:
    return {"openai": "OpenAI", "azure": "Azure OpenAI"}.get(kind, "生成AIサーバー")


def explain_api_error(
    exc: openai.APIError, *, name: str, model: str, model_setting: str, timeout_seconds: float, tail: str
) -> str:
    """One Japanese sentence for a failed call: what happened and what to do (nothing of the request body)."""
    if isinstance(exc, openai.APITimeoutError):
        return f"{name}が{timeout_seconds:g}秒以内に応答しませんでした。時間をおいてもう一度お試しください。{tail}"
    if isinstance(exc, openai.APIConnectionError):
        return f"{name}に接続できませんでした。接続先（URL）とネットワークを確認してください。{tail}"
    if isinstance(exc, openai.RateLimitError):
        return f"{name}の利用上限（回数または量）に達しています。しばらく待ってからもう一度お試しください。{tail}"
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return f"{name}の認証に失敗しました。API キーの設定を管理者に確認してください。{tail}"
    if isinstance(exc, openai.NotFoundError):
        return f"{name}にモデル（デプロイ）「{model}」が見つかりません。設定 {model_setting} を確認してください。{tail}"
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return f"{name}で障害が発生しています（{exc.status_code}）。時間をおいてもう一度お試しください。{tail}"
    if isinstance(exc, openai.APIStatusError):
        return f"{name}が要求を受け付けませんでした（{exc.status_code}）。設定を管理者に確認してください。{tail}"
    return f"{name}の応答が途中で途切れました。もう一度お試しください。{tail}"
