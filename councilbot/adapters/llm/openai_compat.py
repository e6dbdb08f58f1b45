"""OpenAI, Azure OpenAI and any OpenAI-compatible server, through the ``openai`` client.

Retries with exponential backoff on 408/409/429/5xx and connection errors are
the client's own (``max_retries``; it honours ``Retry-After``); timeouts are
per request. Every failure becomes a ``ProviderError`` whose Japanese message
says what happened and what to do; nothing of the request body is put in it.

Streaming asks for usage in the final chunk (``stream_options.include_usage``).
A gateway that ignores ``stream`` and answers with plain JSON is accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import ClassVar, Literal

import openai
from openai.types.chat import ChatCompletion

from councilbot.adapters.llm.base import DraftRequest, Generation, Provider
from councilbot.errors import ProviderError

_FINISHED = "stop"
_FINISH_PROBLEMS = {
    "length": "出力の上限に達して答弁案が途中で切れました。",
    "content_filter": "生成AI側の内容フィルタにより答弁案が途中で止められました。",
}


class OpenAICompatProvider(Provider):
    origin: ClassVar[Literal["ai", "offline"]] = "ai"
    sends_text: ClassVar[bool] = True

    def __init__(self, client: openai.OpenAI, *, model: str, kind: str, timeout_seconds: float) -> None:
        self._client = client
        self.model = model
        self.kind = kind
        self._timeout_seconds = timeout_seconds

    def stream(self, request: DraftRequest) -> Generator[str, None, Generation]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
            )
            if "application/json" in response.response.headers.get("content-type", ""):
                return (yield from self._plain_json(response.response.read()))
            return (yield from self._chunks(response))
        except openai.APIError as exc:
            raise ProviderError(self._explain(exc)) from exc

    def _chunks(self, response: openai.Stream) -> Generator[str, None, Generation]:  # type: ignore[type-arg]
        model, finish, usage = self.model, None, None
        with response:
            for chunk in response:
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
            raise ProviderError(f"{self._name()}の応答を読み取れませんでした。接続先が OpenAI 互換か確認してください。") from exc
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
        return explain_api_error(exc, name=self._name(), model=self.model, model_setting="OPENAI_MODEL",
                                 timeout_seconds=self._timeout_seconds, tail="下書きは保存していません。")


def service_name(kind: str) -> str:
    return {"openai": "OpenAI", "azure": "Azure OpenAI"}.get(kind, "生成AIサーバー")


def explain_api_error(exc: openai.APIError, *, name: str, model: str, model_setting: str, timeout_seconds: float,
                      tail: str) -> str:
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
