"""Machine-checkable drafting rules, applied to every answer — the model's or a person's.

``check_answer`` returns findings with the rule id, a Japanese message and the
position in the text. Findings inform; they never stop anyone from writing.
The rules themselves come from prompts/rules.yaml (see services/prompt_files.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from councilbot.domain.guard import fold_width

SEVERITIES = ("error", "warning", "info")
# How a severity is shown to staff, wherever findings are shown.
SEVERITY_LABELS = {"error": "要修正", "warning": "注意", "info": "参考"}
EXPRESSION_CATEGORIES = ("banned", "risky", "commitment", "leftover", "injection")

# Built-in checks and the values their messages may use.
CHECK_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "register": frozenset(),
    "length": frozenset({"chars", "max_chars"}),
    "speaking_time": frozenset({"minutes", "chars_per_minute", "max_minutes"}),
    "unsupported_number": frozenset({"number"}),
    "prompt_leak": frozenset(),
    "citation": frozenset({"key"}),
    "no_citation": frozenset(),
}

_OPENING = "「『（(［【"
_CLOSING = "」』）)］】"
_SENTENCE_END = "。！？!?"
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_EXCERPT_CHARS = 40
# A line of the drafting instructions this long, found in an answer, is a leak.
_LEAK_MIN_CHARS = 15


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str  # error / warning / info
    message: str  # Japanese, for the drafter
    start: int  # character offsets in the checked text
    end: int
    excerpt: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class CheckSpec:
    id: str
    severity: str
    message: str  # may use the placeholders in CHECK_PLACEHOLDERS


@dataclass(frozen=True)
class ExpressionRule:
    id: str
    category: str
    severity: str
    message: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class RuleBook:
    max_chars: int
    chars_per_minute: int
    max_speaking_minutes: float
    polite_endings: tuple[str, ...]
    number_ignore_suffixes: tuple[str, ...]
    checks: dict[str, CheckSpec]
    expressions: tuple[ExpressionRule, ...]


def severity_label(severity: str) -> str:
    """「要修正」「注意」「参考」 for a finding's severity (an unknown one as it is)."""
    return SEVERITY_LABELS.get(severity, severity)


def answer_length(text: str) -> int:
    """Characters read aloud: everything but white space."""
    return sum(1 for ch in text if not ch.isspace())


def speaking_seconds(text: str, rules: RuleBook) -> int:
    return math.ceil(answer_length(text) * 60 / rules.chars_per_minute)


def check_answer(
    text: str,
    rules: RuleBook,
    *,
    question: str = "",
    sources: Iterable[str] = (),
    protected_texts: Iterable[str] = (),
) -> list[Finding]:
    """All findings for ``text``, in text order.

    ``question`` and ``sources`` are what the answer may take numbers from;
    ``protected_texts`` (the drafting instructions) must never appear in an answer.
    """
    folded = fold_width(text)
    findings = [
        *_expression_findings(text, folded, rules),
        *_register_findings(text, rules),
        *_length_findings(text, rules),
        *_number_findings(text, folded, rules, [question, *sources]),
        *_leak_findings(text, rules, protected_texts),
    ]
    return sorted(findings, key=lambda f: (f.start, f.end, f.rule_id))


def check_citations(text: str, cited: Sequence[str], offered: Sequence[str], rules: RuleBook) -> list[Finding]:
    """Citations the model gave that were not offered to it, or no citation at all."""
    end = len(text)
    if not cited:
        spec = rules.checks["no_citation"]
        return [Finding(spec.id, spec.severity, spec.message, end, end, "")]
    spec = rules.checks["citation"]
    return [
        Finding(spec.id, spec.severity, spec.message.format(key=key), end, end, key) for key in cited if key not in offered
    ]


def _finding(spec: CheckSpec, text: str, start: int, end: int, **values: object) -> Finding:
    return Finding(spec.id, spec.severity, spec.message.format(**values), start, end, _excerpt(text, start, end))


def _excerpt(text: str, start: int, end: int) -> str:
    piece = text[start:end]
    return piece if len(piece) <= _EXCERPT_CHARS else "…" + piece[-_EXCERPT_CHARS:]


def _expression_findings(text: str, folded: str, rules: RuleBook) -> Iterable[Finding]:
    for rule in rules.expressions:
        for m in rule.pattern.finditer(folded):
            if m.end() > m.start():
                yield Finding(rule.id, rule.severity, rule.message, m.start(), m.end(), text[m.start() : m.end()])


def sentences(text: str) -> Iterable[tuple[int, int]]:
    """Spans of sentences ending in 「。」 (or ！？) outside brackets; quoted speech stays whole."""
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in _OPENING:
            depth += 1
        elif ch in _CLOSING:
            depth = max(depth - 1, 0)
        elif ch in _SENTENCE_END and depth == 0:
            lead = len(text[start:i]) - len(text[start:i].lstrip())
            yield start + lead, i + 1
            start = i + 1


def _register_findings(text: str, rules: RuleBook) -> Iterable[Finding]:
    spec = rules.checks["register"]
    for start, end in sentences(text):
        body = text[start : end - 1].rstrip().rstrip(_CLOSING).rstrip()
        if body and not body.endswith(rules.polite_endings):
            yield _finding(spec, text, start, end)


def _length_findings(text: str, rules: RuleBook) -> Iterable[Finding]:
    chars = answer_length(text)
    if chars > rules.max_chars:
        cut = _offset_of_char(text, rules.max_chars)
        yield _finding(rules.checks["length"], text, cut, len(text), chars=chars, max_chars=rules.max_chars)
    seconds = speaking_seconds(text, rules)
    if seconds > rules.max_speaking_minutes * 60:
        yield _finding(
            rules.checks["speaking_time"],
            text,
            0,
            len(text),
            minutes=f"{seconds / 60:.1f}",
            chars_per_minute=rules.chars_per_minute,
            max_minutes=f"{rules.max_speaking_minutes:g}",
        )


def _offset_of_char(text: str, n: int) -> int:
    """Offset just after the ``n``-th non-space character."""
    seen = 0
    for i, ch in enumerate(text):
        if not ch.isspace():
            seen += 1
            if seen == n:
                return i + 1
    return len(text)


def _numbers(folded: str) -> set[str]:
    return {_normalise_number(m.group()) for m in _NUMBER.finditer(folded)}


def _normalise_number(raw: str) -> str:
    return raw.replace(",", "")


def _number_findings(text: str, folded: str, rules: RuleBook, evidence: Sequence[str]) -> Iterable[Finding]:
    known: set[str] = set()
    for piece in evidence:
        known |= _numbers(fold_width(piece or ""))
    spec = rules.checks["unsupported_number"]
    for m in _NUMBER.finditer(folded):
        number = _normalise_number(m.group())
        if number in known or folded.startswith(rules.number_ignore_suffixes, m.end()):
            continue
        yield _finding(spec, text, m.start(), m.end(), number=text[m.start() : m.end()])


def _leak_findings(text: str, rules: RuleBook, protected_texts: Iterable[str]) -> Iterable[Finding]:
    spec = rules.checks["prompt_leak"]
    seen: set[int] = set()
    for protected in protected_texts:
        for line in protected.splitlines():
            line = line.strip().lstrip("-#*> ").strip()
            if len(line) < _LEAK_MIN_CHARS:
                continue
            pos = text.find(line)
            if pos >= 0 and pos not in seen:
                seen.add(pos)
                yield _finding(spec, text, pos, pos + len(line))
