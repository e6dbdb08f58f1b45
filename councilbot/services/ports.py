"""The interfaces the services work through, and the adapters implement.

* ``DraftingProvider`` — every drafter: OpenAI, Azure OpenAI, an OpenAI-compatible
  server (a city's own model), and the offline drafter (adapters/llm).
* ``Embedder`` — the semantic search stage's model, in process or behind an endpoint
  (adapters/embeddings.py).
* ``AnswerBookRenderer`` and ``WordReader`` — answer books as Word documents, and the
  .docx files people bring (adapters/word).

The application context (services/context.py) says which implementation each process uses.
The data a drafter works from is domain data (domain/drafting.py).

A provider's ``stream(request)`` is a generator: it yields pieces of text as the
model writes them and *returns* a ``Generation`` (model name, token counts) once
the model has finished normally. Any failure raises ``ProviderError`` with a
Japanese message; a stream that stops early never returns a ``Generation``, so
a half-written draft cannot be mistaken for a finished one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:  # numpy loads with the semantic stage, not with every command
    import numpy as np

    from councilbot.domain.book import AnswerBookContent
    from councilbot.domain.drafting import DraftRequest


@dataclass(frozen=True)
class Generation:
    """What a provider reports after a normal finish."""

    model: str
    tokens_in: int | None = None
    tokens_out: int | None = None


class DraftingProvider(Protocol):
    kind: str  # "openai", "azure", "compatible", "offline"
    model: str
    origin: ClassVar[Literal["ai", "offline"]]
    # False only for drafters that run inside this process: nothing is sent, nothing needs masking.
    sends_text: ClassVar[bool]

    def stream(self, request: DraftRequest) -> Generator[str, None, Generation]:
        """Yield text as it is written; return the ``Generation`` when finished."""
        ...


EmbeddingKind = Literal["query", "passage"]


class Embedder(Protocol):
    """Every embedder returns L2-normalised float32 rows, so a dot product is the cosine similarity;
    failures raise ``ProviderError`` with a Japanese message."""

    name: str  # stored beside each vector: vectors of different models are never compared
    external: bool  # text leaves this process (guard it first)

    def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> np.ndarray:
        """``(len(texts), dim)`` float32 rows, L2-normalised; ``kind`` tells queries from passages."""
        ...


class AnswerBookRenderer(Protocol):
    def render(
        self,
        content: AnswerBookContent,
        path: Path,
        *,
        template: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Write ``content`` as a .docx at ``path`` (atomically); ``progress(items written, items)``.
        A ``template`` (a city's own .docx) lends its styles, page set-up, header and footer."""
        ...

    def number_contents(self, path: Path, *, pdf_dir: Path | None = None) -> Path | None:
        """Write the contents' page numbers into the .docx where a layout engine is present; also
        save its PDF in ``pdf_dir`` when given and return that path."""
        ...


class WordReader(Protocol):
    def validate(self, path: Path) -> None:
        """Refuse (``InvalidInput``, in Japanese) a file that is not a readable .docx within limits."""
        ...

    def text_lines(self, path: Path) -> list[str]:
        """The document's text, one line per paragraph or table cell."""
        ...

    def answer_book_records(self, path: Path) -> list[dict[str, Any]]:
        """The past-answer records of an answer book (答弁書), in the archive's import fields."""
        ...
