"""The application context: which adapters a process works with, and the state it keeps.

An entry point (the CLI, the Slack app, the web server, the demo) or a test builds one
``AppContext`` — councilbot/app_context.py wires the configured adapters — and installs
it; services take theirs from :func:`current_context`. Everything a service keeps
between calls (the semantic stage's vector matrices and loaded models, its background
embedding thread) lives in the context's ``state``, so that each test, and each
process, has its own, and :meth:`AppContext.close` ends it.

Adapters are reached through factories: a command that never drafts never imports a
model client, and one that never exports never imports python-docx.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from councilbot.services.ports import AnswerBookRenderer, DraftingProvider, Embedder, WordReader
    from councilbot.settings import Settings

T = TypeVar("T")


@dataclass
class AppContext:
    drafter: Callable[[Settings], DraftingProvider]  # the configured drafter (LLM_PROVIDER)
    embedder: Callable[[Settings], Embedder | None]  # the configured embedder; None: semantic stage off
    book_renderer: Callable[[], AnswerBookRenderer]
    word_reader: Callable[[], WordReader]
    _state: dict[type, Any] = field(default_factory=dict, init=False, repr=False)
    _state_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def state(self, kind: type[T]) -> T:
        """This context's one instance of ``kind`` (made with no arguments on first use): a
        service's caches and workers, owned here instead of by its module."""
        with self._state_lock:
            if kind not in self._state:
                self._state[kind] = kind()
            return self._state[kind]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Let every piece of state finish its work (``close()``, where it has one)."""
        with self._state_lock:
            parts = list(self._state.values())
        for part in parts:
            close = getattr(part, "close", None)
            if callable(close):
                close()


_current: AppContext | None = None
_install_lock = threading.Lock()


def install(context: AppContext | None) -> AppContext | None:
    """Make ``context`` the one services use in this process; returns the one it replaces."""
    global _current
    with _install_lock:
        previous, _current = _current, context
    return previous


def install_if_absent(make: Callable[[], AppContext]) -> AppContext:
    """The installed context, or ``make()`` installed (once, however many threads ask)."""
    global _current
    with _install_lock:
        if _current is None:
            _current = make()
        return _current


def current_context() -> AppContext:
    context = _current
    if context is None:
        raise RuntimeError(
            "no application context installed: entry points call councilbot.app_context.ensure_context()"
        )
    return context
