"""What may leave the building: masking personal information, refusing marked documents.

Pure functions over text and a ``GuardPolicy`` read from prompts/rules.yaml.
The report names kinds and counts of what was masked, never the values, so it
can go into the audit log and back to the user as it is.

Council members' names and officials' titles stay: a watch-list name directly
followed by a title (「山田議員」「鈴木部長」) or inside a name the caller asks to
keep (the questioner) is left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

WATCH_LIST_KIND = "watch_list"
WATCH_LIST_LABEL = "氏名"
WATCH_LIST_REPLACEMENT = "［氏名］"

# Full-width digits, Latin letters and the symbols of numbers, e-mail addresses and
# phone numbers fold to half-width, one character for one, so positions found in
# the folded text are valid in the original. Brackets and Japanese punctuation stay.
_WIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９＠．＿＋％，－"} | {
    code: code - 0xFEE0 for code in [*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
} | {0x3000: 0x20}
_DASH_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[ー－−‐‑‒–—―](?=[0-9])")


def fold_width(text: str) -> str:
    """Half-width digits, letters and dashes; same length and positions as ``text``."""
    return _DASH_BETWEEN_DIGITS.sub("-", text.translate(_WIDTH))


@dataclass(frozen=True)
class PiiPattern:
    kind: str  # stable id for the audit log: phone, email, my_number …
    label: str  # Japanese name shown to the user
    replacement: str  # what the model sees instead
    regex: re.Pattern[str]


@dataclass(frozen=True)
class GuardPolicy:
    confidentiality_markers: tuple[str, ...]
    pii: tuple[PiiPattern, ...]
    watch_list: tuple[str, ...] = ()
    keep_suffixes: tuple[str, ...] = ()

    def label(self, kind: str) -> str:
        if kind == WATCH_LIST_KIND:
            return WATCH_LIST_LABEL
        return next((p.label for p in self.pii if p.kind == kind), kind)


@dataclass(frozen=True)
class Guarded:
    """One text after the guard: masked text, or the markers that forbid sending it."""

    text: str
    masked: Mapping[str, int] = field(default_factory=dict)  # kind → count
    markers: tuple[str, ...] = ()  # confidentiality markers found

    @property
    def blocked(self) -> bool:
        return bool(self.markers)


# Markers are written many ways: 【秘】（秘）〔秘〕［秘］, 【 秘 】, 取扱 注意. Compare
# without spaces and with every bracket pair read as 【】. Not NFKC: it turns ㊙ into 秘,
# and a bare 秘 would block every text that mentions 秘書.
_OPENING = str.maketrans({c: "【" for c in "（(〔［[《〈｛{"} | {c: "】" for c in "）)〕］]》〉｝}"})
_SPACES = re.compile(r"[\s\u3000]+")


def _marker_form(text: str) -> str:
    return _SPACES.sub("", fold_width(text)).translate(_OPENING)


def find_markers(text: str, policy: GuardPolicy) -> tuple[str, ...]:
    norm = _marker_form(text)
    return tuple(m for m in policy.confidentiality_markers if _marker_form(m) in norm)


def _name_pattern(name: str) -> re.Pattern[str]:
    """A name as people type it: with or without a (full- or half-width) space inside."""
    chars = [c for c in name if not c.isspace()]
    return re.compile(r"[ \u3000]*".join(map(re.escape, chars)))


def guard_text(text: str, policy: GuardPolicy, *, keep_names: Iterable[str] = ()) -> Guarded:
    """Mask personal information in ``text``; a marked text comes back empty and blocked."""
    markers = find_markers(text, policy)
    if markers:
        return Guarded(text="", markers=markers)

    folded = fold_width(text)
    taken: list[tuple[int, int, str, str]] = []  # start, end, kind, replacement

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _, _ in taken)

    for pattern in policy.pii:
        for m in pattern.regex.finditer(folded):
            if m.end() > m.start() and free(m.start(), m.end()):
                taken.append((m.start(), m.end(), pattern.kind, pattern.replacement))

    kept = [(m.start(), m.end()) for name in keep_names if name.strip() for m in _name_pattern(name).finditer(folded)]
    for name in sorted(set(policy.watch_list), key=len, reverse=True):
        for m in _name_pattern(name).finditer(folded):
            start, end = m.start(), m.end()
            if any(s <= start and end <= e for s, e in kept) or not free(start, end):
                continue
            if _followed_by_title(folded, end, policy.keep_suffixes):
                continue
            taken.append((start, end, WATCH_LIST_KIND, WATCH_LIST_REPLACEMENT))

    pieces: list[str] = []
    pos = 0
    for start, end, _, replacement in sorted(taken):
        pieces.append(text[pos:start])
        pieces.append(replacement)
        pos = end
    pieces.append(text[pos:])
    return Guarded(text="".join(pieces), masked=dict(Counter(kind for _, _, kind, _ in taken)))


def _followed_by_title(text: str, end: int, suffixes: tuple[str, ...]) -> bool:
    rest = text[end:].lstrip(" ")
    return any(rest.startswith(s) for s in suffixes)


def merge_counts(reports: Iterable[Guarded]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for report in reports:
        total.update(report.masked)
    return dict(total)


def describe_masking(counts: Mapping[str, int], policy: GuardPolicy) -> str:
    """「電話番号 1件、氏名 2件を伏せて送信しました。」 — kinds and counts, never values."""
    if not counts:
        return "送信した文章に、伏せる必要のある個人情報は見つかりませんでした。"
    parts = "、".join(f"{policy.label(kind)} {n}件" for kind, n in sorted(counts.items()))
    return f"個人情報を伏せてから送信しました（{parts}）。"


def describe_block(markers: Iterable[str]) -> str:
    listed = "、".join(f"「{m}」" for m in markers)
    return (
        f"質問に取扱いの表示（{listed}）があるため、外部の生成AIには何も送信していません。"
        "表示を外してよい内容かを担当課で確認してください。答弁は引き続き手作業で作成できます。"
    )
