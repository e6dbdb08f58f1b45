"""Item numbers of a council notice: major 1, sub-item (2), detail ① — written ``1-(2)-①``.

Notices arrive typed by many hands, so parsing accepts full-width digits and
brackets, several kinds of dash, plain digits for the third level
(``1-(2)-1``) and the run-together form ``1(2)①``. Formatting always gives
the canonical form, and ordering is numeric (``2`` before ``10``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import total_ordering

from councilbot.errors import InvalidInput

_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CIRCLED_HIGH = "㉑㉒㉓㉔㉕㉖㉗㉘㉙㉚㉛㉜㉝㉞㉟㊱㊲㊳㊴㊵㊶㊷㊸㊹㊺㊻㊼㊽㊾㊿"
_DASHES = "-‐‑‒–—―−ー－ｰ・.．、,"

_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def circled(n: int) -> str:
    """``3`` → ``③`` (1–50); larger numbers fall back to ``(n)``."""
    if 1 <= n <= 20:
        return _CIRCLED[n - 1]
    if 21 <= n <= 50:
        return _CIRCLED_HIGH[n - 21]
    return f"({n})"


def uncircle(ch: str) -> int | None:
    """``③`` → ``3``; ``None`` for any other character."""
    if ch in _CIRCLED:
        return _CIRCLED.index(ch) + 1
    if ch in _CIRCLED_HIGH:
        return _CIRCLED_HIGH.index(ch) + 21
    return None


def nfkc_keep_circled(text: str) -> str:
    """NFKC with circled digits kept as ``[cN]`` (NFKC would turn ① into 1 and lose the level)."""
    return unicodedata.normalize("NFKC", "".join(f"[c{uncircle(c)}]" if uncircle(c) else c for c in text))


def kanji_number(text: str) -> int | None:
    """``一`` … ``二十九`` → int; ``None`` when ``text`` is not a simple kanji numeral."""
    if not text or any(c not in _KANJI_DIGITS for c in text):
        return None
    if "十" not in text:
        return _KANJI_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    value = (_KANJI_DIGITS[tens] if tens else 1) * 10
    return value + (_KANJI_DIGITS[ones] if ones else 0)


_PATTERN = re.compile(
    r"""^\s*(?:第)?(?P<major>\d+)(?:問)?
        \s*[{dashes}]?\s*
        (?:\((?P<sub>\d+)\))?
        \s*[{dashes}]?\s*
        (?:(?P<detail>\d+|\[c\d+\]))?\s*$""".replace("{dashes}", re.escape(_DASHES)),
    re.VERBOSE,
)

_PLAIN = re.compile(r"^\s*(\d+)\s*[-.]\s*(\d+)(?:\s*[-.]\s*(\d+))?\s*$")


@total_ordering
@dataclass(frozen=True)
class ItemNumber:
    """A position in a member's notice outline. ``sub`` and ``detail`` are optional."""

    major: int
    sub: int | None = None
    detail: int | None = None

    def __post_init__(self) -> None:
        if self.major < 1 or (self.sub is not None and self.sub < 1) or (self.detail is not None and self.detail < 1):
            raise InvalidInput("項目番号は1以上の数で指定してください。")
        if self.detail is not None and self.sub is None:
            raise InvalidInput("項目番号の③などの細目は、(2)などの中項目の下に置いてください。")

    @classmethod
    def parse(cls, text: str) -> ItemNumber:
        """Parse ``1-(2)-①`` and its common variants; raise ``InvalidInput`` otherwise."""
        if text is None or not str(text).strip():
            raise InvalidInput("項目番号が空です。「1-(2)-①」の形で指定してください。")
        raw = str(text).strip()
        norm = nfkc_keep_circled(raw).replace(" ", "")
        match = _PATTERN.match(norm)
        if match:
            detail_raw = match.group("detail")
            detail = None
            if detail_raw:
                detail = int(detail_raw[2:-1]) if detail_raw.startswith("[c") else int(detail_raw)
            sub = int(match.group("sub")) if match.group("sub") else None
            if detail is not None and sub is None:
                # "1-①" means the first detail directly under item 1: treat it as sub.
                sub, detail = detail, None
            return cls(int(match.group("major")), sub, detail)
        plain = _PLAIN.match(norm)
        if plain:
            return cls(int(plain.group(1)), int(plain.group(2)), int(plain.group(3)) if plain.group(3) else None)
        raise InvalidInput(f"項目番号「{raw}」を読み取れません。「1-(2)-①」の形で指定してください。")

    def format(self) -> str:
        """Canonical display form: ``1``, ``1-(2)``, ``1-(2)-①``."""
        text = str(self.major)
        if self.sub is not None:
            text += f"-({self.sub})"
        if self.detail is not None:
            text += f"-{circled(self.detail)}"
        return text

    def key_part(self) -> str:
        """ASCII form used inside question keys: ``1-2-1``."""
        return "-".join(str(p) for p in (self.major, self.sub, self.detail) if p is not None)

    def sort_key(self) -> tuple[int, int, int]:
        return (self.major, self.sub or 0, self.detail or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ItemNumber):
            return NotImplemented
        return self.sort_key() < other.sort_key()

    def __str__(self) -> str:
        return self.format()
