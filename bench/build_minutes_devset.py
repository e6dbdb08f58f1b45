"""Build the council-minutes (会議録) evaluation set from ../shared/seeds (see shared/DEVSET.md).

The seeds hold no minutes, so this script writes minutes files around their real text:
each member asks about cases from the seeds (the council-style questions of the search
dev set, build_devset.py) and executives answer with the seeds' own text. Each house style
is one file, ``bench/data/minutes/<style>.txt``, beside ``<style>.truth.jsonl``: one line per
answer turn with who asked (member, seat), who answered (answerer) and the two texts.

Styles differ the way cities' 会議録検索システム exports do: the marks (○ ◯ 〇 ◎ ◆ ◇ △ ▲),
bracketed or unbracketed names, 君 / 議員 / さん / no suffix, full- or half-width seat
numbers, text on the name's line or the next, hard wraps at different widths, page numbers,
stage directions, separators, times, attendance lists, 議案 explanations, 再質問 rounds,
turns asking several topics answered by several executives, and the file's encoding.
The style ``heldout`` is not looked at while tuning the parser (bench/minutes_quality.py
prints it apart).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_devset import DEFAULT_SEEDS, build

ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "data" / "minutes"
HELD_OUT = "heldout"

MEMBERS = [
    ("16", "山田", "太郎"),
    ("3", "上野", "誠"),
    ("8", "工藤", "直子"),
    ("11", "清水", "浩"),
    ("14", "田中", "裕子"),
    ("19", "橋本", "和子"),
    ("21", "松本", "陽子"),
    ("24", "吉田", "茂"),
]
CHAIR = ("鈴木", "一郎")
EXECUTIVES = [
    ("市長", "佐藤", "次郎"),
    ("副市長", "中島", "正"),
    ("総務部長", "高橋", "三郎"),
    ("企画財政部長", "小川", "真一"),
    ("健康福祉部長", "岡田", "恵子"),
    ("教育長", "村上", "博"),
    ("都市整備部長", "石井", "浩二"),
    ("上下水道事業管理者", "前田", "修"),
    ("市民生活部長", "藤田", "明子"),
]
FULL = str.maketrans("0123456789", "０１２３４５６７８９")
ORDINALS = "１２３４５"


@dataclass(frozen=True)
class Style:
    name: str
    chair_mark: str
    member_mark: str
    exec_mark: str
    member_suffix: str  # 君 / 議員 / さん / ""
    exec_suffix: str
    bracketed: bool
    full_width_seat: bool
    name_space: str  # between family and given name: "" / "　" / " "
    text_on_head_line: bool
    wrap: int  # 0: one paragraph per line
    page_every: int  # lines between page numbers, 0: none
    page_format: str
    stage: str  # format of a stage direction, {who}
    separator: str
    encoding: str
    newline: str
    question_type: str


STYLES = [
    Style(
        "standard",
        "○",
        "◆",
        "◎",
        "君",
        "君",
        True,
        True,
        "　",
        True,
        38,
        40,
        "－ {n} －",
        "〔{who}登壇〕",
        "─" * 30,
        "utf-8",
        "\n",
        "一般質問",
    ),
    Style(
        "giin_nextline",
        "○",
        "○",
        "○",
        "議員",
        "",
        True,
        False,
        "",
        False,
        30,
        35,
        "- {n} -",
        "（登壇）",
        "-" * 40,
        "utf-8-sig",
        "\n",
        "一般質問",
    ),
    Style(
        "diamond_sjis",
        "○",
        "◇",
        "△",
        "君",
        "君",
        True,
        True,
        " ",
        True,
        35,
        45,
        "―{n}―",
        "〔{who}登壇〕",
        "━" * 25,
        "cp932",
        "\r\n",
        "代表質問",
    ),
    Style(
        "unbracketed",
        "◯",
        "◯",
        "◯",
        "議員",
        "君",
        False,
        False,
        "",
        True,
        0,
        0,
        "",
        "（{who}登壇）",
        "─" * 20,
        "utf-8",
        "\n",
        "一般質問",
    ),
    Style(
        "san_utf16",
        "〇",
        "〇",
        "〇",
        "さん",
        "さん",
        True,
        True,
        "",
        True,
        42,
        50,
        "- {n} -",
        "〔{who}登壇〕",
        "＝" * 20,
        "utf-16",
        "\n",
        "一般質問",
    ),
    Style(
        HELD_OUT,
        "○",
        "◆",
        "▲",
        "議員",
        "",
        True,
        True,
        "　",
        False,
        33,
        30,
        "－{n}－",
        "［{who}登壇］",
        "─" * 32,
        "cp932",
        "\r\n",
        "一般質問",
    ),
]


def spoken(text: str, limit: int = 420) -> str:
    """Seed text (bullets, tables, headings) → what an executive would read out, cut at a sentence."""
    text = unicodedata.normalize("NFKC", text).replace("**", "")
    parts = []
    for line in text.split("\n"):
        line = re.sub(r"^[\s\-・➤▶●○◯〇◎◆◇△▲■□※|#>]+", "", line).strip(" |")
        line = re.sub(r"\s*\|\s*", "、", line)
        if len(line) >= 8:
            parts.append(line if line.endswith(("。", "」", "）")) else line + "。")
    out = ""
    for sentence in re.findall(r"[^。]*。", "".join(parts)):
        if len(out) + len(sentence) > limit and out:
            break
        out += sentence
    return shift_jis_safe(out.translate(FULL))


def shift_jis_safe(text: str) -> str:
    """Only characters every style's encoding has (Shift_JIS minutes are common)."""
    return "".join(c for c in text if c.encode("cp932", errors="ignore"))


def topics(seeds: Path) -> list[tuple[str, str, str]]:
    """(件名, question, answer) from the search dev set: a written question and its record's text."""
    items = build(seeds)
    records = {r["ref"]: r for r in items if r["kind"] == "record"}
    out = []
    for q in items:
        if q["kind"] != "query" or q["source"] not in ("004-written", "000-title", "002-issues", "001-subject"):
            continue
        record = records[q["relevant"][0]]
        title = shift_jis_safe(re.sub(r"[（(【].*$", "", record["title"])[:30].rstrip("、。")) or "本市の取組"
        answer = spoken(record["answer"])
        question = shift_jis_safe(re.sub(r"\s+", "", unicodedata.normalize("NFKC", q["text"])).translate(FULL))
        if len(answer) > 40 and len(question) > 15:
            out.append((title, question, answer))
    return out


class Writer:
    def __init__(self, style: Style) -> None:
        self.style = style
        self.lines: list[str] = []
        self.page = 1
        self.since_page = 0

    def raw(self, line: str) -> None:
        self.lines.append(line)
        self.since_page += 1
        if self.style.page_every and self.since_page >= self.style.page_every:
            self.lines.append(self.style.page_format.format(n=str(self.page).translate(FULL)))
            self.page += 1
            self.since_page = 0

    def paragraphs(self, paragraphs: list[str], first_prefix: str) -> None:
        """Body text: the first paragraph after the speaker's name (or on the next line), hard-wrapped."""
        wrap = self.style.wrap
        for i, para in enumerate(paragraphs):
            indent = "" if (i == 0 and first_prefix) else "　"
            text = (first_prefix + "　" + para) if (i == 0 and first_prefix) else indent + para
            if not wrap:
                self.raw(text)
                continue
            while len(text) > wrap:
                self.raw(text[:wrap])
                text = text[wrap:]
            self.raw(text)

    def head(self, mark: str, role: str, name: str, suffix: str) -> str:
        s = self.style
        if s.bracketed:
            return f"{mark}{role}（{name}{suffix}）"
        return f"{mark}{role}　{name}{suffix}"

    def turn(self, mark: str, role: str, name: str, suffix: str, paragraphs: list[str]) -> None:
        head = self.head(mark, role, name, suffix)
        if self.style.text_on_head_line:
            self.paragraphs(paragraphs, head)
        else:
            self.raw(head)
            self.paragraphs(paragraphs, "")


def person(style: Style, family: str, given: str) -> str:
    return f"{family}{style.name_space}{given}"


def seat_label(style: Style, seat: str) -> str:
    return (seat.translate(FULL) if style.full_width_seat else seat) + "番"


def write_style(
    style: Style, pool: list[tuple[str, str, str]], rng: random.Random, meeting: int
) -> tuple[str, list[dict]]:
    """One day's plenary minutes (第``meeting``号) in ``style`` and the truth of its answer turns."""
    w = Writer(style)
    no, day = str(meeting).translate(FULL), str(9 + meeting).translate(FULL)
    chair = person(style, *CHAIR)
    sep = style.separator
    qt = style.question_type
    for line in [
        f"令和６年６月桜ヶ丘市議会定例会会議録（第{no}号）",
        "",
        f"令和６年６月{day}日",
        sep,
        f"議事日程（第{no}号）",
        f"　令和６年６月{day}日　午前１０時開議",
        "日程第１　議案第４５号　桜ヶ丘市税条例の一部を改正する条例",
        f"日程第２　{qt}",
        sep,
        "出席議員（２４名）",
    ]:
        w.raw(line)
    for i in range(0, 24, 3):
        w.raw("　" + "　　".join(f"{n}番　議員{n}" for n in range(i + 1, i + 4)).translate(FULL))
    w.raw(sep)
    w.raw("説明のため出席した者")
    for role, family, given in EXECUTIVES:
        w.raw(f"　{role}　　{family}　{given}")
    w.raw(sep)
    w.raw("　　　午前１０時開議")
    w.turn(
        style.chair_mark,
        "議長",
        chair,
        style.exec_suffix,
        [
            "ただいまから本日の会議を開きます。",
            "日程第１、議案第４５号を議題といたします。提案理由の説明を求めます。市長。",
        ],
    )
    mayor = EXECUTIVES[0]
    w.raw(style.stage.format(who=f"市長　{person(style, mayor[1], mayor[2])}君"))
    w.turn(
        style.exec_mark,
        "市長",
        person(style, mayor[1], mayor[2]),
        style.exec_suffix,
        [
            "ただいま議題となりました議案第４５号について、提案理由を御説明申し上げます。本案は、地方税法の改正に伴い、所要の改正を行うものであります。よろしく御審議のほどお願い申し上げます。"
        ],
    )
    w.turn(style.chair_mark, "議長", chair, style.exec_suffix, [f"日程第２、{qt}を行います。順次発言を許します。"])
    truth: list[dict] = []
    for m, (seat, family, given) in enumerate(MEMBERS):
        name = person(style, family, given)
        printed_seat = seat_label(style, seat)
        w.turn(style.chair_mark, "議長", chair, style.exec_suffix, [f"{printed_seat}、{family}{given}議員。"])
        w.raw(style.stage.format(who=f"{printed_seat}　{name}君"))
        asked = [pool.pop() for _ in range(rng.choice([1, 2, 2, 3]))]
        if len(asked) == 1:
            paras = ["おはようございます。通告に従い質問いたします。", f"{asked[0][0]}について伺います。{asked[0][1]}"]
        else:
            paras = ["通告に従い、大きく" + ORDINALS[len(asked) - 1] + "点について質問いたします。"]
            paras += [f"{ORDINALS[i]}点目、{t}について伺います。{q}" for i, (t, q, _a) in enumerate(asked)]
        question_text = "\n".join(paras)
        w.turn(style.member_mark, seat_label(style, seat), name, style.member_suffix, paras)
        # Several topics: either one executive answers them all, or each its own.
        split = len(asked) > 1 and rng.random() < 0.7
        answer_groups = [[i] for i in range(len(asked))] if split else [list(range(len(asked)))]
        for group in answer_groups:
            role, efam, egiv = rng.choice(EXECUTIVES)
            ename = person(style, efam, egiv)
            w.turn(style.chair_mark, "議長", chair, style.exec_suffix, [f"{role}。"])
            if role == "市長" and rng.random() < 0.5:
                w.raw(style.stage.format(who=f"市長　{ename}君"))
            answer = [f"{family}議員の御質問にお答えいたします。"] if group[0] == 0 else []
            for i in group:
                prefix = f"{ORDINALS[i]}点目の{asked[i][0]}についてでありますが、" if len(asked) > 1 else ""
                answer.append(prefix + asked[i][2])
            if m % 3 == 1:  # a page break inside the answer
                w.raw(style.page_format.format(n=str(w.page).translate(FULL)) if style.page_format else "")
            answer.append("以上でございます。")
            w.turn(style.exec_mark, role, ename, style.exec_suffix, answer)
            truth.append(
                {
                    "member": f"{family} {given}",
                    "seat": f"{seat}番",
                    "answerer": role,
                    "question": question_text,
                    "answer": "\n".join(answer),
                }
            )
        if m % 2 == 0:  # a 再質問 round, answered by one executive
            w.turn(style.chair_mark, "議長", chair, style.exec_suffix, [f"{printed_seat}、{family}{given}議員。"])
            follow = f"再質問いたします。ただいま御答弁のあった{asked[0][0]}について、今後のスケジュールと効果の検証方法を具体的に伺います。"
            w.turn(style.member_mark, seat_label(style, seat), name, style.member_suffix, [follow])
            role, efam, egiv = rng.choice(EXECUTIVES[1:])
            w.turn(style.chair_mark, "議長", chair, style.exec_suffix, [f"{role}。"])
            reply = [
                f"再質問にお答えいたします。{asked[0][0]}につきましては、関係部署と連携し、令和７年度中に効果を検証した上で、結果を公表してまいります。"
            ]
            w.turn(style.exec_mark, role, person(style, efam, egiv), style.exec_suffix, reply)
            truth.append(
                {
                    "member": f"{family} {given}",
                    "seat": f"{seat}番",
                    "answerer": role,
                    "question": follow,
                    "answer": reply[0],
                }
            )
        w.turn(
            style.member_mark,
            seat_label(style, seat),
            name,
            style.member_suffix,
            ["以上で私の質問を終わります。（拍手）"],
        )
        if m == 3:
            w.turn(style.chair_mark, "議長", chair, style.exec_suffix, ["暫時休憩いたします。"])
            w.raw("　　　午後０時０２分休憩")
            w.raw(sep)
            w.raw("　　　午後１時開議")
            w.turn(style.chair_mark, "議長", chair, style.exec_suffix, ["休憩前に引き続き会議を開きます。"])
    w.turn(
        style.chair_mark,
        "議長",
        chair,
        style.exec_suffix,
        ["以上で本日の日程は全部終了いたしました。本日はこれにて散会いたします。"],
    )
    w.raw("　　　午後３時２１分散会")
    w.raw(sep)
    w.raw("会議録署名議員")
    w.raw("　議長　" + chair)
    return style.newline.join(w.lines) + style.newline, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    pool = topics(args.seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    for n, style in enumerate(STYLES):
        rng = random.Random(n)
        shuffled = pool[:]
        rng.shuffle(shuffled)
        text, truth = write_style(style, shuffled, rng, meeting=n + 2)
        (args.out / f"{style.name}.txt").write_bytes(text.encode(style.encoding))
        with open(args.out / f"{style.name}.truth.jsonl", "w", encoding="utf-8") as fh:
            for row in truth:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{style.name}: {len(truth)} answer turns ({style.encoding})")


if __name__ == "__main__":
    main()
