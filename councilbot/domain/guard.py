"""What may leave the building: masking personal information, refusing marked documents.

Pure functions over text and a ``GuardPolicy`` read from prompts/rules.yaml.
The report names kinds and counts of what was masked, never the values, so it
can go into the audit log and back to the user as it is.

Council members' names and officials' titles stay: a watch-list name directly
followed by a title (「山田議員」「鈴木部長」) or inside a name the caller asks to
keep (the questioner) is left alone. A watch-list entry written in kana (やまだ はなこ)
matches in hiragana and katakana alike.

Patterns see the text folded (``guard_form``): full-width digits and letters as
half-width and kanji numerals as digits, so 〇九〇・一二三四・五六七八 is a phone
number and 一丁目二番三号 an address. Addresses are found by ``ADDRESS_PATTERN``
(``builtin: japanese_address`` in rules.yaml), built here from the parts of a
Japanese address rather than written as one regex in the clerk's file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

WATCH_LIST_KIND = "watch_list"
WATCH_LIST_LABEL = "氏名"
WATCH_LIST_REPLACEMENT = "［氏名］"

# Full-width digits, Latin letters and the symbols of numbers, e-mail addresses and
# phone numbers fold to half-width, one character for one, so positions found in
# the folded text are valid in the original. Brackets and Japanese punctuation stay.
_WIDTH = (
    {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９＠．＿＋％，－"}
    | {code: code - 0xFEE0 for code in [*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
    | {0x3000: 0x20}
)
_DASH_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[ー－−‐‑‒–—―](?=[0-9])")


def fold_width(text: str) -> str:
    """Half-width digits, letters and dashes; same length and positions as ``text``."""
    return _DASH_BETWEEN_DIGITS.sub("-", text.translate(_WIDTH))


_KANJI_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")


def guard_form(text: str) -> str:
    """``fold_width`` with kanji numerals as digits too (一丁目 → 1丁目); same length and positions.

    Only for finding personal data: the rule check keeps 一 as a word (一方で).
    """
    return _DASH_BETWEEN_DIGITS.sub("-", text.translate(_WIDTH).translate(_KANJI_DIGITS))


# A Japanese address, on guard_form text: a place name (prefecture, municipality, 大字・字 and
# town, in kanji, katakana, 〇〇の内 / 〇〇が丘 / 〇〇ケ関, or a hiragana municipality such as
# つくば市; a particle before it, 自宅はつくば市, stays) followed by its block and lot numbers. Numbers that only an address has
# (丁目, 番地, 番…号, three hyphenated parts) need any place name before them; the weaker
# forms (1234-5, 12番, a bare lot number) need an administrative unit or 大字・字 in the name.
_NAME_CHAR = "[一-龥々〆ヵヶケァ-ヴー]"
_NUM = "[0-9十百千]+"
_NAME = (
    f"(?:{_NAME_CHAR}|[0-9十百千]+(?={_NAME_CHAR})|(?<={_NAME_CHAR})[のがノ](?={_NAME_CHAR})"
    f"|(?![はがのをにでともへや][ぁ-ゖ])[ぁ-ゖ]{{2,6}}(?=[市町村区])|(?<=[市区町村郡])[ぁ-ゖ]{{2,6}}(?={_NAME_CHAR})"
    f"|(?<={_NAME_CHAR}) (?=[0-9一-龥ァ-ヴ]))"
)
_LOT_SEP = "(?: ?(?:-|の|ノ) ?)"
_SP = " ?"
_STRONG_TAIL = (
    f"(?:{_NUM}丁目(?:{_SP}{_NUM}(?:番地?|{_LOT_SEP})?(?:{_SP}{_NUM}(?:号|番地?)?)?(?:{_LOT_SEP}[0-9]+)?)?"
    f"|{_NUM}番地(?:{_LOT_SEP}?{_NUM}号?)?(?:{_LOT_SEP}[0-9]+)?"
    f"|{_NUM}番{_SP}{_NUM}号?(?:{_LOT_SEP}[0-9]+)?"
    f"|[0-9]+-[0-9]+-[0-9]+(?:-[0-9]+)?)"
)
_UNIT = "(?:[都道府県市区町村郡]|大字)"
_AZA = "(?:大字|(?<=[市町村])字)"  # 字 alone is in 文字, 数字, 赤字: only after a municipality
_WEAK_TAIL = f"(?:[0-9]+{_LOT_SEP}[0-9]+(?![0-9])|{_NUM}番(?![号線手組目地]))"
ADDRESS_PATTERN = (
    f"{_NAME}{{0,40}}{_UNIT}{_NAME}{{0,20}}?(?:{_STRONG_TAIL}|{_WEAK_TAIL})"
    f"|{_NAME}{{0,30}}{_AZA}{_NAME}{{1,20}}?[0-9]+(?:番地?)?(?![0-9])"
    f"|{_NAME}{{1,40}}?{_STRONG_TAIL}"
)
# Sources, compiled on first use by builtin_pattern: the address pattern takes about 50 ms to compile,
# which every command would otherwise pay at start-up.
BUILTIN_PATTERNS = {"japanese_address": ADDRESS_PATTERN}


@cache
def builtin_pattern(name: str) -> re.Pattern[str]:
    """A pattern the guard provides (a key of BUILTIN_PATTERNS), compiled."""
    return re.compile(BUILTIN_PATTERNS[name])


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


# Markers are written many ways: 【秘】（秘）〔秘〕［秘］＜秘＞「秘」, 【 秘 】, 取扱 注意. Compare
# without spaces and with every bracket pair read as 【】. Not NFKC: it turns ㊙ into 秘,
# and a bare 秘 would block every text that mentions 秘書.
_OPENING = str.maketrans({c: "【" for c in "（(〔［[《〈｛{＜<「『"} | {c: "】" for c in "）)〕］]》〉｝}＞>」』"})


def _marker_form(text: str) -> tuple[str, list[int]]:
    """``text`` without spaces, brackets read as 【】, and where each kept character came from."""
    folded = fold_width(text).translate(_OPENING)
    kept = [i for i, ch in enumerate(folded) if not ch.isspace()]
    return "".join(folded[i] for i in kept), kept


def find_markers(text: str, policy: GuardPolicy) -> tuple[str, ...]:
    """The confidentiality markers in ``text``, quoted as they are written there (（秘）, not 【秘】)."""
    norm, origin = _marker_form(text)
    spans: list[tuple[int, int]] = []
    for marker in sorted(policy.confidentiality_markers, key=len, reverse=True):
        form, _ = _marker_form(marker)
        pos = norm.find(form) if form else -1
        while pos >= 0:
            span = (origin[pos], origin[pos + len(form) - 1] + 1)
            if not any(s <= span[0] and span[1] <= e for s, e in spans):
                spans.append(span)
            pos = norm.find(form, pos + 1)
    return tuple(dict.fromkeys(text[s:e] for s, e in sorted(spans)))


def _kana_variants(ch: str) -> str:
    """A hiragana or katakana letter as a class matching either script; other characters as they are."""
    code = ord(ch)
    if 0x3041 <= code <= 0x3096:
        return f"[{ch}{chr(code + 0x60)}]"
    if 0x30A1 <= code <= 0x30F6:
        return f"[{chr(code - 0x60)}{ch}]"
    return re.escape(ch)


def _name_pattern(name: str) -> re.Pattern[str]:
    """A name as people type it: with or without a (full- or half-width) space inside, kana in
    either script, kanji numerals as guard_form reads them (鈴木一郎 → 鈴木1郎)."""
    chars = [c for c in guard_form(name) if not c.isspace()]
    return re.compile(r"[ \u3000]*".join(map(_kana_variants, chars)), re.IGNORECASE)


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    kind: str
    replacement: str


def find_personal_data(text: str, policy: GuardPolicy, *, keep_names: Iterable[str] = ()) -> list[PiiSpan]:
    """Where ``text`` holds personal information, in text order (what ``guard_text`` masks)."""
    folded = guard_form(text)
    taken: list[PiiSpan] = []

    def free(start: int, end: int) -> bool:
        return all(end <= t.start or start >= t.end for t in taken)

    for pattern in policy.pii:
        for m in pattern.regex.finditer(folded):
            if m.end() > m.start() and free(m.start(), m.end()):
                taken.append(PiiSpan(m.start(), m.end(), pattern.kind, pattern.replacement))

    kept = [(m.start(), m.end()) for name in keep_names if name.strip() for m in _name_pattern(name).finditer(folded)]
    for name in sorted(set(policy.watch_list), key=len, reverse=True):
        for m in _name_pattern(name).finditer(folded):
            start, end = m.start(), m.end()
            if any(s <= start and end <= e for s, e in kept) or not free(start, end):
                continue
            if _followed_by_title(folded, end, policy.keep_suffixes):
                continue
            taken.append(PiiSpan(start, end, WATCH_LIST_KIND, WATCH_LIST_REPLACEMENT))
    return sorted(taken, key=lambda t: (t.start, t.end))


def guard_text(text: str, policy: GuardPolicy, *, keep_names: Iterable[str] = ()) -> Guarded:
    """Mask personal information in ``text``; a marked text comes back empty and blocked."""
    markers = find_markers(text, policy)
    if markers:
        return Guarded(text="", markers=markers)
    spans = find_personal_data(text, policy, keep_names=keep_names)
    pieces: list[str] = []
    pos = 0
    for span in spans:
        pieces.append(text[pos : span.start])
        pieces.append(span.replacement)
        pos = span.end
    pieces.append(text[pos:])
    return Guarded(text="".join(pieces), masked=dict(Counter(span.kind for span in spans)))


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
