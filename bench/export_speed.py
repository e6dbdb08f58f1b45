"""Answer-book export speed: a synthetic 1,000-item book (SPEC §5: under 10 s).

Prints seconds for rendering the .docx, for the PDF when LibreOffice is
installed, and a baseline: the same text as plain paragraphs written with
python-docx's ordinary API, without styles, fonts, contents or numbering.

    .venv/bin/python bench/export_speed.py [--items 1000] [--no-pdf]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import docx

from councilbot.adapters.word import convert_to_pdf, render_answer_book
from councilbot.adapters.word.libreoffice import find_soffice
from councilbot.adapters.word.writer import item_heading, member_heading
from councilbot.domain.book import AnswerBookContent, BookItem, BookMember
from councilbot.domain.numbering import circled

QUESTION = "{topic}について、本市の現状と課題、今後の取組の方向性を伺う。"
ANSWER = (
    "　{topic}についてお答えいたします。\n"
    "　本市では、令和5年度から関係部局が連携して取組を進めており、昨年度は延べ1,240人の市民の皆様に"
    "ご参加いただきました。\n　今後も、国や県の動向を注視しながら、効果を検証し、着実に推進してまいります。"
)
TOPICS = (
    "避難所運営の改善",
    "学校給食費の無償化",
    "地域公共交通の確保",
    "ＤＸの推進",
    "子育て支援の充実",
    "空き家対策",
)


def synthetic_book(n_items: int, *, items_per_member: int = 25) -> AnswerBookContent:
    members: list[BookMember] = []
    for index in range(0, n_items, items_per_member):
        m = len(members)
        items = []
        for j in range(min(items_per_member, n_items - index)):
            topic = TOPICS[(index + j) % len(TOPICS)]
            number = f"{j // 6 + 1}-({j // 3 % 2 + 1})-{circled(j % 3 + 1)}"
            items.append(
                BookItem(
                    key=f"R8-12-{m + 1}-{j}",
                    item_no=number,
                    title=f"{topic}について",
                    question=QUESTION.format(topic=topic),
                    answerer="市長" if j % 2 else "総務部長",
                    answer=ANSWER.format(topic=topic),
                    department="企画政策課",
                    back_data="参考：令和5年度決算額 12,345千円",
                )
            )
        members.append(
            BookMember(
                seat=f"{m + 1}番",
                name=f"議員 {m + 1:02d}",
                faction="新政会",
                question_type="代表質問" if m < 2 else "一般質問",
                items=items,
            )
        )
    return AnswerBookContent(
        city="桜ヶ丘市",
        session_title="令和8年12月定例会",
        title="答弁書",
        date=dt.date(2026, 12, 1),
        members=members,
        include_back_data=True,
    )


def baseline(content: AnswerBookContent, path: Path) -> None:
    document = docx.Document()
    for member in content.members:
        document.add_heading(member_heading(member), level=1)
        for item in member.items:
            document.add_heading(item_heading(item), level=2)
            for text in ("質問要旨", item.question, f"答弁者　{item.answerer}", "答弁", item.answer, item.back_data):
                document.add_paragraph(text)
    document.save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--no-pdf", action="store_true", help="skip the LibreOffice PDF")
    args = parser.parse_args()
    content = synthetic_book(args.items)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        baseline(content, out / "baseline.docx")
        print(f"baseline python-docx plain paragraphs, {args.items} items: {time.perf_counter() - start:.2f} s")

        start = time.perf_counter()
        book = render_answer_book(content, out / "book.docx")
        print(
            f"render_answer_book, {args.items} items: {time.perf_counter() - start:.2f} s "
            f"({book.stat().st_size // 1024} KiB; target < 10 s)"
        )

        if args.no_pdf or find_soffice() is None:
            print("PDF: skipped" + ("" if args.no_pdf else " (LibreOffice is not installed)"))
            return
        start = time.perf_counter()
        pdf = convert_to_pdf(book, out)
        print(
            f"convert_to_pdf (LibreOffice, contents numbered), {args.items} items: "
            f"{time.perf_counter() - start:.2f} s ({pdf.stat().st_size // 1024} KiB)"
        )


if __name__ == "__main__":
    main()
