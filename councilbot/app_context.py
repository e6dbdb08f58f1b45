"""The composition root: the application context wired with this package's adapters.

Entry points (the CLI, the Slack and web apps, the demo) call :func:`ensure_context`;
tests build their own with :func:`build_context`. Adapters are imported only when a
factory is first called, so start-up stays light (tests/test_cli_startup.py).
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

from councilbot.services.context import AppContext, install_if_absent

if TYPE_CHECKING:
    from councilbot.services.ports import AnswerBookRenderer, DraftingProvider, Embedder, WordReader
    from councilbot.settings import Settings


def _drafter(settings: Settings) -> DraftingProvider:
    from councilbot.adapters.llm.factory import make_provider

    return make_provider(settings)


def _embedder(settings: Settings) -> Embedder | None:
    from councilbot.adapters.embeddings import make_embedder

    return make_embedder(settings)


def _book_renderer() -> AnswerBookRenderer:
    from councilbot.adapters.word import DocxAnswerBooks

    return DocxAnswerBooks()


def _word_reader() -> WordReader:
    from councilbot.adapters.word import DocxReader

    return DocxReader()


def build_context() -> AppContext:
    return AppContext(drafter=_drafter, embedder=_embedder, book_renderer=_book_renderer, word_reader=_word_reader)


def ensure_context() -> AppContext:
    """The installed context, or a new one installed for this process, which finishes its
    background work (answers queued for embedding) when the process exits."""
    return install_if_absent(_process_context)


def _process_context() -> AppContext:
    context = build_context()
    atexit.register(context.close)
    return context
