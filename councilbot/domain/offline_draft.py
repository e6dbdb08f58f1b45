"""The offline drafter's rules: a deterministic draft from the past answer that best matches the
question and the answer template (答弁の型), with no model and no network.

It follows the four steps of the style guide — recognition of the issue, the
current state in the chosen past answer's own sentences (so every fact and number
has a source), a challenge when that answer names one, and its closing stance —
and cites the past answer it drew on in the same 【参照】 line a model is asked to
write. Pure text rules; the drafter that streams them (adapters/llm/offline.py) says
plainly that it is offline.

Choosing the source: relevance first (the search's ranking and how much of the
question the answer's own question and title share); recency only among answers
about the same thing, where a later answer supersedes an earlier one. Facts come
from that one answer alone, sentences with dates, amounts and schedules first.
Sentences tied to the day they were spoken (「本定例会に補正予算を提案しております」)
are dropped, and year-relative words are restated with the answer's date
(本年度 → 令和4年度, 現在 → 令和4年9月現在). The closing keeps the source's stance:
its own closing sentence when it has one, else the guide's closing for the stance
its wording shows (a budgeted, scheduled project is 推進).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from councilbot.domain.commitments import PriorCommitment
from councilbot.domain.drafting import (
    CITATION_PREFIX,
    NO_CITATION,
    PROGRESS_PLACEHOLDER,
    DraftRequest,
    GroundingSource,
    Stance,
    StyleGuide,
)
from councilbot.domain.era import era_year
from councilbot.domain.rulecheck import sentences

_MAX_STATE_SENTENCES = 3
_MAX_SOURCES = 3
# Past answers about the same thing: their titles and questions share this much (Dice of bigrams),
# and they are nearly as relevant as the best one.
_SAME_TOPIC = 0.5
_SAME_TOPIC_RELEVANCE = 0.8
# Relevance: the search score, title-and-question overlap, closest sentence (chosen on bench/draft_quality.py).
_RELEVANCE_WEIGHTS = (0.4, 0.2, 0.4)
# Sentences of a past answer that belong to its own frame, not to the facts.
_FRAME_PHRASES = ("お答えいたします", "お答え申し上げます", "答弁いたします", "御質問", "ご質問")
_TOPIC_TAIL = re.compile(r"(?:について|に関して|に関する|への|の考え|の見解).*$")
# Facts worth keeping: dates, amounts, counts and schedules.
_KEY_FACT = re.compile(
    r"[0-9０-９]+\s*(?:年度?|か?月|日|円|万|億|件|人|名|か所|箇所|校|台|%|％|パーセント|割)|予定|計画|予算"
)
# Words that tie a sentence to the sitting it was spoken in: such a sentence is not restated.
_SESSION_RELATIVE = re.compile(
    r"本定例会|今定例会|本議会|今議会|本会議|今期定例会|本日|先日|先般|今般|今回|このたび|この度|先月|今月|来月|今週|先週"
)
# Words relative to the answer's date, and how many years from it they mean (fiscal or calendar).
_YEAR_RELATIVE = re.compile(r"本年度|今年度|昨年度|前年度|来年度|次年度|本年|今年|昨年|来年|現時点|現在")
_YEAR_SHIFT = {
    "本年度": 0,
    "今年度": 0,
    "昨年度": -1,
    "前年度": -1,
    "来年度": 1,
    "次年度": 1,
    "本年": 0,
    "今年": 0,
    "昨年": -1,
    "来年": 1,
}
# Evidence of a decided project (a budget, a schedule): its stance is 推進 even without a set phrase.
_DECIDED = re.compile(r"予算|計上|予定|着手|開始|実施して|整備して|運行して|導入して")
_DECIDED_STANCE = "推進"


def topic_of(title: str) -> str:
    """「地域公共交通の維持について」 → 「地域公共交通の維持」."""
    core = _TOPIC_TAIL.sub("", title.strip()).strip(" 　、。")
    return core or title.strip()


def compose(request: DraftRequest) -> list[str]:
    style = request.style
    values = {"topic": topic_of(request.topic), "member": request.member, "answerer": request.answerer}
    opening = style.opening if request.member else style.opening_without_member
    lines = [opening.format(**values), style.recognition.format(**values)]

    question = f"{request.topic}\n{request.question}"
    source = choose_source(request.sources[:_MAX_SOURCES], question)
    facts, challenge, closing = _from_source(source, question, style) if source else ([], None, None)
    lines.extend(facts or [style.missing_current_state.format(**values)])
    if challenge:
        lines.append(challenge)
    lines.extend(_progress_placeholder(p) for p in request.prior_commitments)
    lines.append(closing or _stance(source, style).closing.format(**values))
    lines.append(CITATION_PREFIX + (source.key if source and (facts or challenge or closing) else NO_CITATION))
    return lines


def choose_source(sources: Sequence[GroundingSource], question: str) -> GroundingSource | None:
    """The past answer to draw on: the most relevant, or a later answer about the same thing.

    Relevance weighs the search's score, how much of the question the answer's title and
    question share, and its sentence closest to the question (each relative to the best)."""
    if not sources:
        return None
    question_grams = _bigrams(question)
    topics = [_bigrams(f"{s.title}\n{s.question}") for s in sources]
    signals = [
        [s.score for s in sources],
        [_dice(question_grams, topic) for topic in topics],
        [max((_closeness(x, question_grams) for x in _sentences(s.answer)), default=0.0) for s in sources],
    ]
    relevance = [0.0] * len(sources)
    for weight, values in zip(_RELEVANCE_WEIGHTS, signals):
        top = max(values) or 1.0
        relevance = [r + weight * v / top for r, v in zip(relevance, values)]
    best = max(range(len(sources)), key=lambda i: (relevance[i], -i))
    same_thing = [
        i
        for i in range(len(sources))
        if relevance[i] >= relevance[best] * _SAME_TOPIC_RELEVANCE and _dice(topics[best], topics[i]) >= _SAME_TOPIC
    ]
    return sources[max(same_thing, key=lambda i: (sources[i].date, i == best))]


class _Candidate(NamedTuple):
    score: float
    position: int  # of the sentence in its answer
    sentence: str


def _from_source(source: GroundingSource, question: str, style: StyleGuide) -> tuple[list[str], str | None, str | None]:
    """The chosen answer's factual sentences closest to the question (in its order, key facts first),
    its challenge sentence, and its own closing sentence (one of its last two) when that shows a stance."""
    cues = tuple(cue for stance in style.stances.values() for cue in stance.cues)
    said = _said_on(source.date)
    body = [
        (i, restated)
        for i, sentence in enumerate(_sentences(source.answer))
        if not any(p in sentence for p in _FRAME_PHRASES) and (restated := restate(sentence, said)) is not None
    ]
    closing = next((sentence for _, sentence in reversed(body[-2:]) if any(cue in sentence for cue in cues)), None)
    question_grams = _bigrams(question)
    candidates = [
        _Candidate(_closeness(sentence, question_grams) * (1.5 if _KEY_FACT.search(sentence) else 1.0), i, sentence)
        for i, sentence in body
        if sentence != closing
    ]
    challenge = next(
        (
            c
            for c in sorted(candidates, key=lambda c: (-c.score, c.position))
            if any(m in c.sentence for m in style.challenge_markers)
        ),
        None,
    )
    facts = sorted((c for c in candidates if c.score > 0 and c is not challenge), key=lambda c: (-c.score, c.position))[
        :_MAX_STATE_SENTENCES
    ]
    if challenge is not None and facts and challenge.position < facts[0].position:
        challenge = None  # a reservation before the facts it qualifies would read out of order
    return (
        [c.sentence for c in sorted(facts, key=lambda c: c.position)],
        challenge.sentence if challenge else None,
        closing,
    )


def _progress_placeholder(prior: PriorCommitment) -> str:
    """The drafter must report what became of an earlier commitment; offline, it can only ask for it."""
    return f"{prior.when}の定例会で「{prior.statement}」とお答えした件につきましては、{PROGRESS_PLACEHOLDER}"


def restate(sentence: str, said: dt.date | None) -> str | None:
    """``sentence`` as it can be read out today: None when it speaks of the sitting it was said in
    (本定例会に…提案しております), year-relative words dated (本年度 → 令和4年度); without a date, None."""
    if _SESSION_RELATIVE.search(sentence):
        return None
    if not _YEAR_RELATIVE.search(sentence):
        return sentence
    if said is None:
        return None
    fiscal_start = said.year if said.month >= 4 else said.year - 1

    def dated(match: re.Match[str]) -> str:
        word = match.group()
        if word in ("現在", "現時点"):
            return f"{era_year(dt.date(said.year, said.month, 1))}{said.month}月" + (
                "現在" if word == "現在" else "時点"
            )
        if word.endswith("年度"):
            return era_year(dt.date(fiscal_start + _YEAR_SHIFT[word], 4, 1)) + "度"
        return era_year(dt.date(said.year + _YEAR_SHIFT[word], said.month, 1))

    return _YEAR_RELATIVE.sub(dated, sentence)


def _said_on(iso: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(iso[:10]) if iso else None
    except ValueError:
        return None


def _stance(source: GroundingSource | None, style: StyleGuide) -> Stance:
    """The stance the source's wording shows (its last sentence with a cue); 推進 for a decided
    project without one; the guide's default otherwise."""
    if source is not None:
        for sentence in reversed(_sentences(source.answer)):
            for stance in style.stances.values():
                if any(cue in sentence for cue in stance.cues):
                    return stance
        if _DECIDED.search(source.answer) and _DECIDED_STANCE in style.stances:
            return style.stances[_DECIDED_STANCE]
    return style.stances[style.default_stance]


def _closeness(sentence: str, question_grams: set[str]) -> float:
    return len(_bigrams(sentence) & question_grams) / float((1 + len(sentence)) ** 0.5)


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _sentences(text: str) -> list[str]:
    return [text[s:e].strip() for s, e in sentences(text) if text[s:e].strip()]


def _bigrams(text: str) -> set[str]:
    norm = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return {norm[i : i + 2] for i in range(len(norm) - 1)}
