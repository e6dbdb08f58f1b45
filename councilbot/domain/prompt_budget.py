"""Fitting a drafting prompt into a model's context: how much may be sent, and what to leave out.

A small on-premise model has a context of a few thousand tokens, and the reply needs
its own room (``LLM_MAX_OUTPUT_TOKENS``). Past answers and the style guide are cut
in this order until the prompt fits: each past answer shortened to its opening
(the current state comes first in an answer), the style guide to its first
sections, then the least similar past answers dropped. What was left out is said
to the model and to the person drafting.

Tokens are estimated without the model's tokenizer, on the high side: a Japanese
character is often more than one token in small models' vocabularies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

TOKENS_PER_WIDE_CHAR = 1.3  # kana, kanji and full-width symbols
CHARS_PER_ASCII_TOKEN = 4
SAFETY_SHARE = 0.9  # of the room left after the reply, to absorb the estimate's error
SHORT_ANSWER_CHARS = 300
SHORT_QUESTION_CHARS = 120
_SECTION = re.compile(r"(?m)^(?=## )")

S = TypeVar("S")


def estimate_tokens(text: str) -> int:
    wide = sum(1 for ch in text if ord(ch) > 0x7F)
    return math.ceil(wide * TOKENS_PER_WIDE_CHAR + (len(text) - wide) / CHARS_PER_ASCII_TOKEN)


def prompt_room(context_tokens: int, output_tokens: int) -> int:
    """Tokens the prompt may use: the context less the reply's room, with a safety margin."""
    return int((context_tokens - output_tokens) * SAFETY_SHARE)


def shorten(text: str, chars: int) -> str:
    """The first ``chars`` characters, cut after a sentence where one ends, marked as cut."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    end = head.rfind("。")
    return (head[: end + 1] if end >= chars // 2 else head) + "（以下略）"


def style_sections(body: str) -> list[str]:
    """The style guide split at its ``## `` headings (the text before the first one stays with it)."""
    return [part for part in _SECTION.split(body) if part.strip()]


@dataclass(frozen=True)
class Trimmed(Generic[S]):
    """What fits, and what was left out to make it fit."""

    sources: tuple[S, ...]
    style_body: str
    shortened: int = 0  # past answers sent in part
    dropped: int = 0  # past answers not sent
    style_cut: bool = False

    @property
    def anything_left_out(self) -> bool:
        return bool(self.shortened or self.dropped or self.style_cut)


def fit(
    sources: Sequence[S],
    style_body: str,
    room: int,
    measure: Callable[[Sequence[S], str], int],
    shorten_source: Callable[[S], S],
) -> Trimmed[S] | None:
    """The most of ``sources`` (best first) and ``style_body`` whose prompt ``measure``s within ``room``
    tokens; None when even the shortest prompt does not fit."""
    current = Trimmed(tuple(sources), style_body)
    if measure(current.sources, current.style_body) <= room:
        return current
    short = tuple(shorten_source(s) for s in sources)
    current = replace(current, sources=short, shortened=sum(1 for a, b in zip(sources, short) if a != b))
    if measure(current.sources, current.style_body) <= room:
        return current
    sections = style_sections(style_body)
    for keep in range(len(sections) - 1, 0, -1):
        current = replace(current, style_body="".join(sections[:keep]).rstrip() + "\n", style_cut=True)
        if measure(current.sources, current.style_body) <= room:
            return current
    for keep in range(len(short) - 1, -1, -1):
        kept = short[:keep]
        current = replace(
            current, sources=kept, dropped=len(short) - keep, shortened=sum(1 for a, b in zip(sources, kept) if a != b)
        )
        if measure(current.sources, current.style_body) <= room:
            return current
    return None


def describe_left_out(trimmed: Trimmed[S]) -> str:
    """「…過去答弁 2件を省き、過去答弁 3件は冒頭のみとしました」 — for the model and for the person drafting."""
    parts = []
    if trimmed.dropped:
        parts.append(f"検索順位の低い過去答弁 {trimmed.dropped}件を省き")
    if trimmed.shortened:
        parts.append(f"過去答弁 {trimmed.shortened}件は冒頭のみとし")
    if trimmed.style_cut:
        parts.append("答弁の型は前半の節のみとし")
    return "、".join(parts) + "ました"
