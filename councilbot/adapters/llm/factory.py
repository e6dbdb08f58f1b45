"""The drafter the settings ask for: ``LLM_PROVIDER`` = offline (default), openai or azure.

``openai`` with ``OPENAI_BASE_URL`` is any OpenAI-compatible server, such as a
city's on-premise model. Missing settings are reported in Japanese by name.
"""

from __future__ import annotations

import openai

from councilbot.adapters.llm.base import Provider
from councilbot.adapters.llm.offline import OfflineDrafter
from councilbot.adapters.llm.openai_compat import OpenAICompatProvider
from councilbot.errors import CouncilbotError
from councilbot.settings import Settings

# OpenAI-compatible servers that check no key still expect the header to be present.
_UNCHECKED_KEY = "not-needed"


def make_provider(settings: Settings) -> Provider:
    if settings.llm_provider == "offline":
        return OfflineDrafter()
    model = _required(settings.openai_model, "OPENAI_MODEL", "使用するモデル名（Azure ではデプロイ名）")
    common = {"timeout": settings.llm_timeout_seconds, "max_retries": settings.llm_max_retries}
    if settings.llm_provider == "azure":
        client: openai.OpenAI = openai.AzureOpenAI(
            azure_endpoint=_required(settings.azure_openai_endpoint, "AZURE_OPENAI_ENDPOINT", "Azure OpenAI の接続先"),
            api_version=_required(settings.azure_openai_api_version, "AZURE_OPENAI_API_VERSION", "Azure OpenAI の API バージョン"),
            api_key=_required(settings.openai_api_key, "OPENAI_API_KEY", "Azure OpenAI の API キー"),
            **common,
        )
        kind = "azure"
    elif settings.openai_base_url:
        client = openai.OpenAI(api_key=settings.openai_api_key or _UNCHECKED_KEY, base_url=settings.openai_base_url, **common)
        kind = "compatible"
    else:
        client = openai.OpenAI(api_key=_required(settings.openai_api_key, "OPENAI_API_KEY", "OpenAI の API キー"), **common)
        kind = "openai"
    return OpenAICompatProvider(client, model=model, kind=kind, timeout_seconds=settings.llm_timeout_seconds)


def _required(value: str | None, name: str, meaning: str) -> str:
    if not value:
        raise CouncilbotError(f"生成AIの設定 {name}（{meaning}）がありません。設定するか、LLM_PROVIDER=offline にしてください。")
    return value
