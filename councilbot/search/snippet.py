"""Snippets: the passage of a record where the query matched, with the hits marked 【…】.

Brackets read well in a terminal and in Slack alike (Slack's *bold* needs
spaces around it, which Japanese text does not have).
"""

from __future__ import annotations

from councilbot.domain.japanese import is_hiragana
from councilbot.search.analysis import display_normalize, normalize, sudachi_tokenizer
from councilbot.search.index import QueryTerms

OPEN, CLOSE = "【", "】"
SNIPPET_CHARS = 120


def _spans_literal(text: str, terms: QueryTerms) -> list[tuple[int, int]]:
    spans = []
    # Whole words first; then informative bigrams, which also catch words split differently.
    needles = [w for w in terms.words if len(w) >= 2] + [b for b in terms.bigrams if len(b) >= 2 and not is_hiragana(b)]
    for needle in dict.fromkeys(needles):
        start = text.find(needle)
        while start != -1:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    return spans


def _spans_variant(text: str, terms: QueryTerms) -> list[tuple[int, int]]:
    """Spans of morphemes whose normalized form is a query term (問合せ for 問い合わせ)."""
    wanted = set(terms.morph)
    if not wanted:
        return []
    tok, _ = sudachi_tokenizer()
    spans = []
    for m in tok.tokenize(text[:4000]):
        if m.normalized_form() in wanted:
            spans.append((m.begin(), m.end()))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def make_snippet(texts: list[str], terms: QueryTerms, width: int = SNIPPET_CHARS) -> str:
    """The best window over ``texts`` (e.g. answer, then question), hits marked; the opening if nothing matched."""
    best: tuple[int, str, list[tuple[int, int]]] | None = None
    for raw in texts:
        text = display_normalize(raw)
        if not text:
            continue
        folded = normalize(raw)  # same offsets as text; matching is case-insensitive
        spans = _spans_literal(folded, terms) or _spans_variant(folded, terms)
        spans = _merge(spans)
        covered = sum(e - s for s, e in spans)
        if best is None or covered > best[0]:
            best = (covered, text, spans)
    if best is None:
        return ""
    _, text, spans = best
    if not spans:
        return text[:width] + ("…" if len(text) > width else "")
    # Start a little before the window with the most marked characters.
    starts = [max(0, s - width // 6) for s, _ in spans]
    start = max(
        starts, key=lambda st: sum(min(e, st + width) - max(s, st) for s, e in spans if s < st + width and e > st)
    )
    end = min(len(text), start + width)
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out += [text[pos:s], OPEN, text[s:e], CLOSE]
        pos = e
    out.append(text[pos:end])
    return ("…" if start > 0 else "") + "".join(out) + ("…" if end < len(text) else "")
