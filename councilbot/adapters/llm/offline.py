"""The offline drafter: a deterministic draft from the most similar past answers and
the answer template (答弁の型), with no model and no network.

It follows the four steps of the style guide — recognition of the issue, the
current state in the past answers' own sentences (so every fact and number has a
source), a challenge when a past answer names one, and the closing form of the
stance the best past answer took — and cites the past answers it drew on in the
same 【参照】 line a model is asked to write. It says plainly that it is offline:
its origin is ``offline`` and its model name says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Generator, Iterable, Sequence
from typing import ClassVar, Literal, NamedTuple

from councilbot.adapters.llm.base import DraftRequest, Generation, GroundingSource, Provider, Stance, StyleGuide
from councilbot.domain.commitments import PriorCommitment
from councilbot.domain.rulecheck import sentences

OFFLINE_MODEL = "offline-drafter-1（過去答弁からの組立て・生成AI不使用）"
CITATION_PREFIX = "【参照】"
NO_CITATION = "なし"
# Where the drafter is to report progress on an earlier commitment (a leftover until filled in).
PROGRESS_PLACEHOLDER = "（要確認）その後の進捗を記載いたします。"

_MAX_STATE_SENTENCES = 3
_MAX_SOURCES = 3
# A past answer is drawn on when its search score reaches this share of the best one's,
# and its closest sentence this share of the closest sentence overall.
_SEARCH_FLOOR = 0.5
_RELEVANCE_FLOOR = 0.35
# Sentences of a past answer that belong to its own frame, not to the facts.
_FRAME_PHRASES = ("お答えいたします", "お答え申し上げます", "答弁いたします", "御質問", "ご質問")
_TOPIC_TAIL = re.compile(r"(?:について|に関して|に関する|への|の考え|の見解).*$")


class OfflineDrafter(Provider):
    kind = "offline"
    model = OFFLINE_MODEL
    origin: ClassVar[Literal["ai", "offline"]] = "offline"
    sends_text: ClassVar[bool] = False

    def stream(self, request: DraftRequest) -> Generator[str, None, Generation]:
        for line in compose(request):
            yield line + "\n"
        return Generation(model=self.model)


def topic_of(title: str) -> str:
    """「地域公共交通の維持について」 → 「地域公共交通の維持」."""
    core = _TOPIC_TAIL.sub("", title.strip()).strip(" 　、。")
    return core or title.strip()


def compose(request: DraftRequest) -> list[str]:
    style = request.style
    values = {"topic": topic_of(request.topic), "member": request.member, "answerer": request.answerer}
    opening = style.opening if request.member else style.opening_without_member
    lines = [opening.format(**values), style.recognition.format(**values)]

    sources = request.sources[:_MAX_SOURCES]
    state, challenge, used = _pick_sentences(sources, f"{request.topic}\n{request.question}", style)
    lines.extend(state or [style.missing_current_state.format(**values)])
    if challenge:
        lines.append(challenge)
    lines.extend(_progress_placeholder(p) for p in request.prior_commitments)
    # The closing stance follows the answers the draft drew on (the newest on its topic),
    # never an older answer's: without a clear stance there, the guide's default applies.
    lines.append(_stance([s for s in sources if s.key in used] or sources, style).closing.format(**values))
    lines.append(CITATION_PREFIX + ("、".join(used) if used else NO_CITATION))
    return lines


class _Candidate(NamedTuple):
    score: float
    rank: int  # of the source, best first
    position: int  # of the sentence in its answer
    sentence: str
    key: str


def _pick_sentences(
    sources: Sequence[GroundingSource], question: str, style: StyleGuide
) -> tuple[list[str], str | None, list[str]]:
    """The past answers' factual sentences closest to the question (in source order),
    the closest sentence naming a challenge, and the keys of the answers used."""
    closings = tuple(cue for stance in style.stances.values() for cue in stance.cues)
    question_grams = _bigrams(question)
    best_score = max((s.score for s in sources), default=0.0)
    candidates = [
        _Candidate(len(_bigrams(sentence) & question_grams) / (1 + len(sentence)) ** 0.5, rank, position, sentence, source.key)
        for rank, source in enumerate(sources)
        if source.score >= best_score * _SEARCH_FLOOR
        for position, sentence in enumerate(_sentences(source.answer))
        if not any(p in sentence for p in (*_FRAME_PHRASES, *closings))
    ]
    ranked = sorted(candidates, key=lambda c: (-c.score, c.rank, c.position))

    def is_challenge(c: _Candidate) -> bool:
        return any(m in c.sentence for m in style.challenge_markers)

    # A past answer counts when its best sentence is close enough to the best of all;
    # its challenge sentence may then be used even if it shares few words with the question.
    floor = max(ranked[0].score * _RELEVANCE_FLOOR, 1e-9) if ranked else 0.0
    relevant_sources = {c.rank for c in ranked if c.score >= floor}
    relevant = [c for c in ranked if c.rank in relevant_sources]
    # The same question is often answered again in later sessions, and the later answer
    # supersedes the earlier one: the current state comes from the newest relevant answer
    # alone, so a draft never sets an outdated position beside the current one.
    newest_first = sorted(relevant_sources, key=lambda rank: (sources[rank].date, -rank), reverse=True)
    recency = {rank: order for order, rank in enumerate(newest_first)}
    by_recency = sorted(relevant, key=lambda c: (recency[c.rank], -c.score, c.position))
    challenge = next((c for c in by_recency if is_challenge(c)), None)
    all_facts = [c for c in by_recency if c.score > 0 and not is_challenge(c)]
    facts = [c for c in all_facts if c.rank == all_facts[0].rank][:_MAX_STATE_SENTENCES] if all_facts else []
    facts.sort(key=lambda c: c.position)
    used = [*facts, *([challenge] if challenge else [])]
    keys = list(dict.fromkeys(c.key for c in sorted(used, key=lambda c: c.rank)))
    return [c.sentence for c in facts], challenge.sentence if challenge else None, keys


def _progress_placeholder(prior: PriorCommitment) -> str:
    """The drafter must report what became of an earlier commitment; offline, it can only ask for it."""
    return f"{prior.when}の定例会で「{prior.statement}」とお答えした件につきましては、{PROGRESS_PLACEHOLDER}"


def _stance(sources: Iterable[GroundingSource], style: StyleGuide) -> Stance:
    """The stance the best past answer closed with; the guide's default without one."""
    for source in sources:
        closing = " ".join(_sentences(source.answer)[-2:])
        for stance in style.stances.values():
            if any(cue in closing for cue in stance.cues):
                return stance
    return style.stances[style.default_stance]


def _sentences(text: str) -> list[str]:
    return [text[s:e].strip() for s, e in sentences(text) if text[s:e].strip()]


def _bigrams(text: str) -> set[str]:
    norm = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return {norm[i : i + 2] for i in range(len(norm) - 1)}
