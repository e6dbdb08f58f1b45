"""A generated set of personal data in the spellings residents and staff actually write.

    python -m tests.pii_samples          # prints the count per kind and a few samples

Each sample is one string as it would sit in a question or a past answer, with the
fragments that must never leave the building (``secrets``): the lot number and the
town name of an address, the digit groups of a phone number, a name in kana, …
Deterministic: the same list on every run, so a failure names the same sample.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_KANJI = str.maketrans("0123456789", "〇一二三四五六七八九")


@dataclass(frozen=True)
class Sample:
    kind: str
    text: str
    secrets: tuple[str, ...]


def _kanji_positional(n: int) -> str:
    """23 → 二十三, 105 → 百五 (how lot numbers are often written)."""
    digits = "〇一二三四五六七八九"
    if n == 0:
        return digits[0]
    out = ""
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, value)
        if q:
            out += ("" if q == 1 else digits[q]) + unit
    return out + (digits[n] if n else "")


PREFECTURES = ["東京都", "北海道", "大阪府", "京都府", "神奈川県", "茨城県", "長野県", ""]
MUNICIPALITIES = [
    "桜ヶ丘市",
    "千代田区",
    "つくば市",
    "西多摩郡日の出町",
    "さいたま市浦和区",
    "上川郡東川町",
    "青葉村",
    "みどり市",
]
TOWNS = [
    "丸の内",
    "霞が関",
    "霞ケ関",
    "自由が丘",
    "緑ヶ丘",
    "梅ノ木",
    "あざみ野",
    "ひばりが丘",
    "ニュータウン東",
    "中央町",
    "本町",
    "桜台",
]
AZA = ["大字高田", "大字上野字下川原", "字前田", "大字カミノ"]


def _addresses() -> list[Sample]:
    samples = []
    for i, (pref, muni, town) in enumerate(itertools.product(PREFECTURES, MUNICIPALITIES, TOWNS)):
        if (i + i // len(TOWNS)) % 3:
            continue  # a third of the product is enough, and keeps every combination of kinds
        chome, ban, go = 1 + i % 9, 1 + (i * 7) % 40, 1 + (i * 3) % 25
        lots = [
            f"{chome}丁目{ban}番{go}号",
            f"{chome}丁目{ban}番地{go}",
            f"{chome}-{ban}-{go}",
            f"{chome}丁目{ban}-{go}",
            f"{ban}番{go}号",
            f"{100 + i}番地の{go}",
            f"{100 + i}番地",
        ]
        lot = lots[i % len(lots)]
        written = [lot, lot.translate(_FULL_WIDTH), lot.translate(_KANJI)][(i // 7) % 3]
        if (i // 21) % 4 == 3:
            written = f"{_kanji_positional(chome)}丁目{_kanji_positional(ban)}番{_kanji_positional(go)}号"
        place = f"{pref}{muni}{town}"
        samples.append(Sample("address", f"{place}{written}", (f"{town}{written}", written)))
    for i, (muni, aza) in enumerate(itertools.product(MUNICIPALITIES, AZA)):
        lot = [f"{1000 + i * 37}-{1 + i % 9}", f"{200 + i}番地", f"{300 + i}番", f"{400 + i}"][i % 4]
        written = lot if i % 2 else lot.translate(_FULL_WIDTH)
        samples.append(Sample("address", f"{muni}{aza}{written}", (f"{aza}{written}",)))
    return samples


def _phones() -> list[Sample]:
    numbers = [
        ("090", "1234", "5678"),
        ("080", "2345", "6789"),
        ("070", "3456", "7890"),
        ("03", "3210", "7654"),
        ("045", "671", "2345"),
        ("0120", "456", "789"),
        ("029", "864", "3321"),
        ("050", "5550", "1234"),
    ]
    samples = []
    for a, b, c in numbers:
        forms = [
            f"{a}-{b}-{c}",
            f"{a}.{b}.{c}",
            f"{a} {b} {c}",
            f"{a}・{b}・{c}",
            f"({a}){b}-{c}",
            f"{a}({b}){c}",
            f"{a}{b}{c}",
            f"{a}-{b}-{c}".translate(_FULL_WIDTH),
            f"{a}.{b}.{c}".translate(_FULL_WIDTH),
            f"{a}-{b}-{c}".translate(_KANJI),
            f"{a}{b}{c}".translate(_KANJI),
            f"{a}・{b}・{c}".translate(_KANJI),
            f"{a}ー{b}ー{c}".translate(_KANJI),
            f"{a}－{b}－{c}".translate(_KANJI),
        ]
        for form in forms:
            # The last two groups as written identify the line; they must not survive in any spelling.
            tail = form[-(len(b) + len(c) + 1) :]
            samples.append(Sample("phone", form, (form, tail)))
    return samples


WATCH = [("やまだ", "はなこ"), ("すずき", "いちろう")]
KANJI_NAMES = ["山田花子", "鈴木一郎"]


def _to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def _names() -> list[Sample]:
    samples = []
    for (family, given), kanji in zip(WATCH, KANJI_NAMES):
        spellings = [kanji, f"{kanji[:2]} {kanji[2:]}", f"{kanji[:2]}　{kanji[2:]}"]
        for script in (str, _to_katakana):
            f, g = script(family), script(given)
            spellings += [f"{f}{g}", f"{f} {g}", f"{f}　{g}", f"{f}{_to_katakana(g)}" if script is str else f"{f}{g}"]
        for spelling in dict.fromkeys(spellings):
            for context in ("相談者の{}さんから", "{}様（地域住民）より", "申出人 {} 氏", "{}さん宅"):
                text = context.format(spelling)
                samples.append(Sample("name", text, (spelling, spelling.replace(" ", "").replace("　", ""))))
    return samples


def _emails() -> list[Sample]:
    locals_ = ["hanako.yamada", "ichiro_suzuki", "taro+council", "k.tanaka2024", "info-resident"]
    domains = ["example.jp", "mail.example.com", "city.sakuragaoka.lg.jp", "example.co.jp"]
    samples = []
    for i, (local, domain) in enumerate(itertools.product(locals_, domains)):
        address = f"{local}@{domain}"
        written = (
            address if i % 2 else address.translate(str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "@.0123456789"}))
        )
        samples.append(Sample("email", written, (written, written.split("@")[0] if i % 2 else written.split("＠")[0])))
    return samples


def _my_numbers() -> list[Sample]:
    samples = []
    for i in range(12):
        digits = f"{(123456789012 + i * 98765431) % 10**12:012d}"
        groups = (digits[:4], digits[4:8], digits[8:])
        forms = [
            "".join(groups),
            " ".join(groups),
            "-".join(groups),
            ".".join(groups),
            "-".join(groups).translate(_FULL_WIDTH),
            "".join(groups).translate(_KANJI),
        ]
        form = forms[i % len(forms)]
        samples.append(Sample("my_number", f"個人番号{form}", (form,)))
    return samples


def generate() -> list[Sample]:
    return [*_addresses(), *_phones(), *_names(), *_emails(), *_my_numbers()]


if __name__ == "__main__":
    all_samples = generate()
    print(len(all_samples), dict(Counter(s.kind for s in all_samples)))
    for sample in all_samples[::40]:
        print(f"  {sample.kind:10} {sample.text}")
