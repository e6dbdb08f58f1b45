"""What a drafter works from and the marks its draft carries: the answer template (答弁の型)
with its graded stances, the past answers offered as sources, and the 【参照】 line that
names the sources a draft drew on.

Pure data, no I/O: prompts/style_guide.md is read into a ``StyleGuide`` by
services/prompt_files.py; drafters (adapters/llm) receive a ``DraftRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from councilbot.domain.commitments import PriorCommitment

# The line a draft ends with, naming the past answers it drew on (「【参照】R4-0012」), or none.
CITATION_PREFIX = "【参照】"
NO_CITATION = "なし"
# Where the drafter is to report progress on an earlier commitment (a leftover until filled in).
PROGRESS_PLACEHOLDER = "（要確認）その後の進捗を記載いたします。"


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
class ChatMessage:
    role: Literal["system", "user"]
    content: str


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
