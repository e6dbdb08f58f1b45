"""One interface for every drafter: OpenAI, Azure OpenAI, an OpenAI-compatible
server (a city's own model), and the offline drafter.

A provider's ``stream(request)`` is a generator: it yields pieces of text as the
model writes them and *returns* a ``Generation`` (model name, token counts) once
the model has finished normally. Any failure raises ``ProviderError`` with a
Japanese message; a stream that stops early never returns a ``Generation``, so
a half-written draft cannot be mistaken for a finished one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from typing import ClassVar, Literal

from councilbot.domain.commitments import PriorCommitment


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user"]
    content: str


@dataclass(frozen=True)
class Stance:
    """A graded stance (推進 / 検討 / 慎重) and its closing form."""

    name: str
    meaning: str
    cues: tuple[str, ...]  # phrases in a past answer that show this stance
    closing: str  # may use {topic}


@dataclass(frozen=True)
class StyleGuide:
    """The answer template (答弁の型) from prompts/style_guide.md."""

    body: str  # the guide given to the model
    opening: str  # may use {member}, {topic}, {answerer}
    opening_without_member: str
    recognition: str
    missing_current_state: str
    challenge_markers: tuple[str, ...]
    default_stance: str
    stances: dict[str, Stance]


@dataclass(frozen=True)
class GroundingSource:
    """A similar past answer offered to the drafter, under the key it is cited by."""

    key: str
    title: str
    question: str
    answer: str
    session: str = ""
    department: str = ""
    score: float = 0.0
    date: str = ""  # ISO date of the answer; the newest answer states the current position


@dataclass(frozen=True)
class DraftRequest:
    """Everything a drafter may use. Model providers send ``messages``; the offline
    drafter composes from the structured fields and sends nothing anywhere."""

    messages: tuple[ChatMessage, ...]
    topic: str  # the item's title
    question: str
    member: str
    answerer: str
    sources: tuple[GroundingSource, ...]
    style: StyleGuide
    prior_commitments: tuple[PriorCommitment, ...] = ()  # progress on these must be reported


@dataclass(frozen=True)
class Generation:
    """What a provider reports after a normal finish."""

    model: str
    tokens_in: int | None = None
    tokens_out: int | None = None


class Provider(ABC):
    kind: str  # "openai", "azure", "compatible", "offline"
    model: str
    origin: ClassVar[Literal["ai", "offline"]]
    # False only for drafters that run inside this process: nothing is sent, nothing needs masking.
    sends_text: ClassVar[bool]

    @abstractmethod
    def stream(self, request: DraftRequest) -> Generator[str, None, Generation]:
        """Yield text as it is written; return the ``Generation`` when finished."""
