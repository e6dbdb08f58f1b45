"""The drafter the settings ask for: ``LLM_PROVIDER`` = offline (default), openai or azure.

``openai`` with ``OPENAI_BASE_URL`` is any OpenAI-compatible server, such as a
city's on-premise model. Missing settings are reported in Japanese by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from councilbot.adapters.llm.offline import OfflineDrafter
from councilbot.errors import CouncilbotError
from councilbot.services.ports import DraftingProvider

if TYPE_CHECKING:  # the openai client costs about a second to import: only a command that calls a model loads it
    import openai

    from councilbot.settings import Settings

# OpenAI-compatible servers that check no key still expect the header to be present.
_UNCHECKED_KEY = "not-needed"


def make_provider(settings: Settings) -> DraftingProvider:
    if settings.llm_provider == "offline":
        return OfflineDrafter()
    from councilbot.adapters.llm.openai_compat import OpenAICompatProvider

    hint = "LLM_PROVIDER=offline"
    model = required_setting(settings.openai_model, "OPENAI_MODEL", "使用するモデル名（Azure ではデプロイ名）", hint)
    client, kind = openai_client(
        settings, azure=settings.llm_provider == "azure", base_url=settings.openai_base_url, hint=hint
    )
    return OpenAICompatProvider(
        client,
        model=model,
        kind=kind,
        timeout_seconds=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        max_output_tokens=settings.llm_max_output_tokens,
    )


def openai_client(settings: Settings, *, azure: bool, base_url: str | None, hint: str) -> tuple[openai.OpenAI, str]:
    """An ``openai`` client and its kind ("azure", "compatible" or "openai"); shared by drafting and embeddings.

    ``hint`` is the setting that turns the feature off, named in the message about a missing setting.
    """
    import openai

    timeout, max_retries = settings.llm_timeout_seconds, settings.llm_max_retries
    if azure:
        client: openai.OpenAI = openai.AzureOpenAI(
            azure_endpoint=required_setting(
                settings.azure_openai_endpoint, "AZURE_OPENAI_ENDPOINT", "Azure OpenAI の接続先", hint
            ),
            api_version=required_setting(
                settings.azure_openai_api_version, "AZURE_OPENAI_API_VERSION", "Azure OpenAI の API バージョン", hint
            ),
            api_key=required_setting(settings.openai_api_key, "OPENAI_API_KEY", "Azure OpenAI の API キー", hint),
            timeout=timeout,
            max_retries=max_retries,
        )
        return client, "azure"
    if base_url:
        return openai.OpenAI(
            api_key=settings.openai_api_key or _UNCHECKED_KEY,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        ), "compatible"
    key = required_setting(settings.openai_api_key, "OPENAI_API_KEY", "OpenAI の API キー", hint)
    return openai.OpenAI(api_key=key, timeout=timeout, max_retries=max_retries), "openai"


def required_setting(value: str | None, name: str, meaning: str, hint: str) -> str:
    if not value:
        raise CouncilbotError(f"生成AIの設定 {name}（{meaning}）がありません。設定するか、{hint} にしてください。")
    return value
