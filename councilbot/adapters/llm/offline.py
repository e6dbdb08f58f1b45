"""The offline drafter: the rules of domain/offline_draft.py as a drafting provider, with no
model and no network. It says plainly that it is offline: its origin is ``offline`` and its
model name says so."""

from __future__ import annotations

from collections.abc import Generator
from typing import ClassVar, Literal

from councilbot.domain.drafting import DraftRequest
from councilbot.domain.offline_draft import compose
from councilbot.services.ports import DraftingProvider, Generation

OFFLINE_MODEL = "offline-drafter-1（過去答弁からの組立て・生成AI不使用）"


class OfflineDrafter(DraftingProvider):
    kind = "offline"
    model = OFFLINE_MODEL
    origin: ClassVar[Literal["ai", "offline"]] = "offline"
    sends_text: ClassVar[bool] = False

    def stream(self, request: DraftRequest) -> Generator[str, None, Generation]:
        for line in compose(request):
            yield line + "\n"
        return Generation(model=self.model)
