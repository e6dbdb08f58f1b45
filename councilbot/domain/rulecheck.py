"""Machine-checkable drafting rules, applied to every answer — the model's or a person's.

``check_answer`` returns findings with the rule id, a Japanese message and the
position in the text. Findings inform; they never stop anyone from writing.
The rules themselves come from prompts/rules.yaml (see services/prompt_files.py).

Each check is a function of one ``CheckInput`` listed in ``CHECKS``; a new check is
one more function there (and its message in ``CHECK_PLACEHOLDERS`` / rules.yaml).
The guard that masks what leaves the building also runs here over every answer —
a model's, the offline drafter's or a person's — so personal data or a
confidentiality marker in a draft is a finding, not a surprise in the answer book.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from councilbot.domain.guard import GuardPolicy, find_markers, find_personal_data, fold_width
from councilbot.domain.japanese import is_hiragana

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
    "personal_information": frozenset({"label"}),
    "confidentiality": frozenset({"marker"}),
    "not_japanese": frozenset({"share"}),
    "markdown": frozenset(),
}
# Checks added after a city may have written its rules.yaml: used when its file has none.
DEFAULT_CHECKS: dict[str, tuple[str, str, str]] = {
    "personal_information": (
        "PII-001",
        "error",
        "答弁に個人情報（{label}）が含まれています。削除するか、伏せてください。",
    ),
    "confidentiality": (
        "SEC-001",
        "error",
        "答弁に取扱いの表示「{marker}」があります。公開の答弁に載せてよい内容か確認してください。",
    ),
    "not_japanese": ("LANG-001", "error", "答弁が日本語で書かれていません（日本語の文字が{share}%）。"),
    "markdown": ("FMT-001", "warning", "見出し記号（#）など、読み上げる答弁にない書式が含まれています。"),
}

_OPENING = "「『（(［【"
_CLOSING = "」』）)］】"
_SENTENCE_END = "。！？!?"
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_EXCERPT_CHARS = 40
# A line of the drafting instructions this long, found in an answer, is a leak.
_LEAK_MIN_CHARS = 15
# A sentence that shares this share of an instruction sentence's content bigrams (and at least
# _ECHO_MIN_SHARED of them) repeats it in other words: 「事実や数値は質問と過去答弁にあるものだけを使うよう…」.
_ECHO_SHARE = 0.6
_ECHO_MIN_SHARED = 6
# Below this share of Japanese letters among all letters, an answer is not in Japanese.
_JAPANESE_MIN_SHARE = 0.5
_MARKDOWN_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+\S.*$", re.MULTILINE)


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


@dataclass(frozen=True)
class CheckInput:
    """One answer and what it may be checked against."""

    text: str
    rules: RuleBook
    question: str = ""
    sources: Sequence[str] = ()  # past answers the draft may take facts and numbers from
    protected_texts: Sequence[str] = ()  # the drafting instructions: no answer may repeat them
    guard: GuardPolicy | None = None  # personal data and markers, as the guard finds them
    keep_names: Sequence[str] = ()  # names that may stay (the questioner)
    folded: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded", fold_width(self.text))


def check_answer(
    text: str,
    rules: RuleBook,
    *,
    question: str = "",
    sources: Iterable[str] = (),
    protected_texts: Iterable[str] = (),
    guard: GuardPolicy | None = None,
    keep_names: Iterable[str] = (),
) -> list[Finding]:
    """All findings for ``text``, in text order.

    ``question`` and ``sources`` are what the answer may take numbers from;
    ``protected_texts`` (the drafting instructions) must never appear in an answer,
    not even in other words; with ``guard``, personal data and confidentiality markers
    are findings (names in ``keep_names`` excepted).
    """
    given = CheckInput(text, rules, question, tuple(sources), tuple(protected_texts), guard, tuple(keep_names))
    findings = [finding for check in CHECKS for finding in check(given)]
    return sorted(findings, key=lambda f: (f.start, f.end, f.rule_id))


def check_citations(text: str, cited: Sequence[str], offered: Sequence[str], rules: RuleBook) -> list[Finding]:
    """Citations the model gave that were not offered to it, or no citation at all."""
    end = len(text)
    if not cited:
        spec = rules.checks["no_citation"]
        return [Finding(spec.id, spec.severity, spec.message, end, end, "")]
    spec = rules.checks["citation"]
    return [
        Finding(spec.id, spec.severity, spec.message.format(key=key), end, end, key)
        for key in cited
        if key not in offered
    ]


def _finding(spec: CheckSpec, text: str, start: int, end: int, **values: object) -> Finding:
    return Finding(spec.id, spec.severity, spec.message.format(**values), start, end, _excerpt(text, start, end))


def _excerpt(text: str, start: int, end: int) -> str:
    piece = text[start:end]
    return piece if len(piece) <= _EXCERPT_CHARS else "…" + piece[-_EXCERPT_CHARS:]


def _expression_findings(given: CheckInput) -> Iterable[Finding]:
    text = given.text
    for rule in given.rules.expressions:
        for m in rule.pattern.finditer(given.folded):
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


def _register_findings(given: CheckInput) -> Iterable[Finding]:
    text, rules = given.text, given.rules
    spec = rules.checks["register"]
    for start, end in sentences(text):
        body = text[start : end - 1].rstrip().rstrip(_CLOSING).rstrip()
        if body and not body.endswith(rules.polite_endings):
            yield _finding(spec, text, start, end)


def _length_findings(given: CheckInput) -> Iterable[Finding]:
    text, rules = given.text, given.rules
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


def _number_findings(given: CheckInput) -> Iterable[Finding]:
    text, folded, rules = given.text, given.folded, given.rules
    known: set[str] = set()
    for piece in [given.question, *given.sources]:
        known |= _numbers(fold_width(piece or ""))
    spec = rules.checks["unsupported_number"]
    for m in _NUMBER.finditer(folded):
        number = _normalise_number(m.group())
        if number in known or folded.startswith(rules.number_ignore_suffixes, m.end()):
            continue
        yield _finding(spec, text, m.start(), m.end(), number=text[m.start() : m.end()])


def _leak_findings(given: CheckInput) -> Iterable[Finding]:
    """Instruction lines repeated word for word, or sentences that say one in other words."""
    text, spec = given.text, given.rules.checks["prompt_leak"]
    lines = [
        line
        for protected in given.protected_texts
        for raw in protected.splitlines()
        if len(line := raw.strip().lstrip("-#*> ").strip()) >= _LEAK_MIN_CHARS
    ]
    reported: list[tuple[int, int]] = []
    for line in lines:
        pos = text.find(line)
        if pos >= 0 and all(pos != s for s, _ in reported):
            reported.append((pos, pos + len(line)))
            yield _finding(spec, text, pos, pos + len(line))
    instruction_sentences = [piece for line in lines for piece in re.split(r"(?<=[。！？])", line)]
    echo_grams = [g for piece in instruction_sentences if len(g := _content_bigrams(piece)) >= _ECHO_MIN_SHARED]
    for start, end in sentences(text):
        if any(s < end and start < e for s, e in reported):
            continue
        grams = _content_bigrams(text[start:end])
        for instruction in echo_grams:
            shared = len(grams & instruction)
            if shared >= _ECHO_MIN_SHARED and shared >= _ECHO_SHARE * len(instruction):
                reported.append((start, end))
                yield _finding(spec, text, start, end)
                break


def _content_bigrams(text: str) -> set[str]:
    """Bigrams of the Japanese letters of ``text`` that hold a kanji or katakana (hiragana-only
    pairs such as ている say nothing of content; Latin tags such as <source> are markup)."""
    letters = "".join(ch for ch in unicodedata.normalize("NFKC", text) if _is_japanese(ch))
    pairs = (letters[i : i + 2] for i in range(len(letters) - 1))
    return {pair for pair in pairs if not is_hiragana(pair)}


def _guard_findings(given: CheckInput) -> Iterable[Finding]:
    """Personal data and confidentiality markers in the answer, as the guard would find them outbound."""
    if given.guard is None:
        return
    text, checks = given.text, given.rules.checks
    for span in find_personal_data(text, given.guard, keep_names=given.keep_names):
        yield _finding(checks["personal_information"], text, span.start, span.end, label=given.guard.label(span.kind))
    for marker in find_markers(text, given.guard):
        pos = text.find(marker)
        yield _finding(checks["confidentiality"], text, pos, pos + len(marker), marker=marker)


def _is_japanese(ch: str) -> bool:
    code = ord(ch)
    return 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or ch in "々〆ヵヶ"


def _language_findings(given: CheckInput) -> Iterable[Finding]:
    letters = [ch for ch in unicodedata.normalize("NFKC", given.text) if ch.isalpha()]
    if not letters:
        return
    share = sum(1 for ch in letters if _is_japanese(ch)) / len(letters)
    if share < _JAPANESE_MIN_SHARE:
        yield _finding(given.rules.checks["not_japanese"], given.text, 0, len(given.text), share=round(share * 100))


def _markdown_findings(given: CheckInput) -> Iterable[Finding]:
    for m in _MARKDOWN_HEADING.finditer(given.text):
        yield _finding(given.rules.checks["markdown"], given.text, m.start(), m.end())


CHECKS: tuple[Callable[[CheckInput], Iterable[Finding]], ...] = (
    _expression_findings,
    _register_findings,
    _length_findings,
    _number_findings,
    _leak_findings,
    _guard_findings,
    _language_findings,
    _markdown_findings,
)
