"""Reading answer books back: round trip, a city's variants, and files that must be refused."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from councilbot.adapters.word import render_answer_book
from councilbot.adapters.word.reader import read_answer_book, read_docx_text, validate_docx
from councilbot.errors import InvalidInput
from tests.word_samples import book

FIELDS = (
    "member",
    "seat",
    "faction",
    "question_type",
    "item_no",
    "title",
    "question",
    "answer",
    "answerer",
    "department",
    "back_data",
)


def expected(content):
    return [
        {
            "member": m.name,
            "seat": m.seat,
            "faction": m.faction,
            "question_type": m.question_type,
            "item_no": i.item_no,
            "title": i.title,
            "question": i.question,
            "answer": i.answer,
            "answerer": i.answerer,
            "department": i.department,
            "back_data": i.back_data if content.include_back_data else "",
        }
        for m in content.members
        for i in m.items
    ]


@pytest.mark.parametrize("with_back_data", [True, False])
def test_round_trip_gives_back_the_same_records(tmp_path, with_back_data):
    content = book(include_back_data=with_back_data, missing=["R8-12-21-3-2　補聴器購入費の助成について"])
    records = read_answer_book(render_answer_book(content, tmp_path / "book.docx"))
    assert [{k: r[k] for k in FIELDS} for r in records] == expected(content)
    assert {r["session"] for r in records} == {"令和8年12月定例会"}
    assert {r["date"] for r in records} == {"2026-12-01"}


def test_refs_are_stable_and_distinct(tmp_path):
    first = read_answer_book(render_answer_book(book(), tmp_path / "a.docx"))
    again = read_answer_book(render_answer_book(book(include_back_data=True), tmp_path / "b.docx"))
    assert [r["ref"] for r in first] == [r["ref"] for r in again]
    assert len({r["ref"] for r in first}) == len(first)
    assert first[0]["ref"] == "docx:令和8年12月定例会:代表質問:16番:1-(1)-①"


def test_round_trip_from_a_city_template(tmp_path):
    from tests.test_word_book import make_template

    content = book(include_back_data=True)
    path = render_answer_book(content, tmp_path / "book.docx", template=make_template(tmp_path / "t.docx"))
    assert [{k: r[k] for k in FIELDS} for r in read_answer_book(path)] == expected(content)


def test_review_meeting_drafts_are_not_archived(tmp_path):
    records = read_answer_book(render_answer_book(book(is_draft=True), tmp_path / "draft.docx"))
    assert [r["item_no"] for r in records] == ["1-(1)-①", "2", "1-(2)"]


def bold(document, text):
    document.add_paragraph().add_run(text).bold = True


def test_variant_bold_labels_and_full_width_numbers(tmp_path):
    document = docx.Document()
    document.add_paragraph("令和６年３月定例会　答弁書")
    document.add_paragraph("令和６年３月５日")
    bold(document, "一般質問　３番　青木健一議員（市民クラブ）")
    bold(document, "１－（２）－①　待機児童対策について")
    bold(document, "質問")
    document.add_paragraph("待機児童の現状を伺う。")
    document.add_paragraph("答弁者：こども未来部長")
    bold(document, "答弁")
    document.add_paragraph("　お答えいたします。")
    document.add_paragraph("１　現状について申し上げます。")  # an enumeration inside the answer
    bold(document, "（３）　放課後児童クラブについて")  # sub-number only: belongs under 1
    bold(document, "質問")
    document.add_paragraph("待機の状況を伺う。")
    bold(document, "答弁")
    document.add_paragraph("解消に努めます。")
    path = tmp_path / "variant.docx"
    document.save(str(path))
    records = read_answer_book(path)
    assert [(r["item_no"], r["title"], r["answerer"]) for r in records] == [
        ("1-(2)-①", "待機児童対策について", "こども未来部長"),
        ("1-(3)", "放課後児童クラブについて", ""),
    ]
    assert records[0]["answer"] == "　お答えいたします。\n１　現状について申し上げます。"
    assert (records[0]["member"], records[0]["seat"], records[0]["question_type"]) == ("青木健一", "3番", "一般質問")
    assert (records[0]["session"], records[0]["date"]) == ("令和6年3月定例会", "2024-03-05")


def test_variant_table_with_question_and_answer_rows(tmp_path):
    document = docx.Document()
    document.add_paragraph("令和5年9月定例会")
    document.add_heading("【代表質問】16番　山田 太郎議員（新政会）", level=1)
    document.add_heading("2-(1)　生成AIの活用について", level=2)
    table = document.add_table(rows=4, cols=2)
    for row, (label, value) in zip(
        table.rows,
        [
            ("質問", "活用状況を伺う。"),
            ("答弁者", "市長"),
            ("答弁", "試行導入しております。"),
            ("担当課", "デジタル推進課"),
        ],
    ):
        row.cells[0].text, row.cells[1].text = label, value
    path = tmp_path / "table.docx"
    document.save(str(path))
    [record] = read_answer_book(path)
    assert {k: record[k] for k in ("item_no", "question", "answer", "answerer", "department", "member")} == {
        "item_no": "2-(1)",
        "question": "活用状況を伺う。",
        "answer": "試行導入しております。",
        "answerer": "市長",
        "department": "デジタル推進課",
        "member": "山田 太郎",
    }


def test_read_docx_text_keeps_paragraph_and_table_order(tmp_path):
    document = docx.Document()
    document.add_paragraph("一行目")
    document.add_paragraph("")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "表の左", "表の右"
    document.add_paragraph("最後")
    path = tmp_path / "text.docx"
    document.save(str(path))
    assert read_docx_text(path) == ["一行目", "", "表の左", "表の右", "最後"]


# --- files that must be refused ---------------------------------------------------------


def refused(path) -> str:
    with pytest.raises(InvalidInput) as info:
        read_answer_book(path)
    return info.value.message


def test_not_a_docx(tmp_path):
    path = tmp_path / "notes.docx"
    path.write_text("これはテキストです", encoding="utf-8")
    assert "Word文書（.docx）ではない" in refused(path)
    other_zip = tmp_path / "book.xlsx.docx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert "Word文書（.docx）ではない" in refused(other_zip)


def test_empty_file_and_empty_document(tmp_path):
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    assert "空です" in refused(empty)
    blank = tmp_path / "blank.docx"
    docx.Document().save(str(blank))
    assert "本文がありません" in refused(blank)


def test_too_large(tmp_path):
    path = tmp_path / "large.docx"
    with open(path, "wb") as fh:
        fh.truncate(21 * 1024 * 1024)
    assert "20MB" in refused(path)


def test_zip_bomb_refused_before_decompressing(tmp_path):
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    path = tmp_path / "bomb.docx"
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            out.writestr(info, source.read(info.filename))
        out.writestr("word/media/padding.bin", b"\0" * (300 * 1024 * 1024))
    assert path.stat().st_size < 20 * 1024 * 1024
    assert "異常に大きい" in refused(path)


def test_password_protected_file(tmp_path):
    path = tmp_path / "secret.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    assert "パスワード" in refused(path)


def test_no_recognisable_items(tmp_path):
    document = docx.Document()
    document.add_paragraph("議事日程")
    document.add_paragraph("本日の会議は午前10時に開きます。")
    path = tmp_path / "agenda.docx"
    document.save(str(path))
    assert "項目を読み取れませんでした" in refused(path)


def test_validate_docx_opens_a_good_file(tmp_path):
    path = render_answer_book(book(), tmp_path / "ok.docx")
    assert validate_docx(path).paragraphs


def _docx_with_body(path, body_xml: bytes):
    """A real .docx whose document.xml body is ``body_xml``; compressed like any .docx."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                head, _, tail = data.partition(b"<w:sectPr")
                data = head.replace(b"<w:body>", b"<w:body>" + body_xml) + b"<w:sectPr" + tail
            out.writestr(info, data)
    return path


def test_a_document_unpacking_to_too_much_xml_is_refused_before_it_is_parsed(tmp_path):
    import random

    from councilbot.services.intake import read_notice_lines

    # Within every zip limit (size, entries, total, compression ratio) yet 270,000 paragraphs.
    digits = random.Random(13)
    body = b"".join(b"<w:p><w:r><w:t>%d</w:t></w:r></w:p>" % digits.randrange(10**6) for _ in range(270_000))
    path = _docx_with_body(tmp_path / "通告書.docx", body)
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        assert sum(e.file_size for e in entries) < 200 * 1024 * 1024
        assert all(e.file_size <= 100 * max(e.compress_size, 1) for e in entries)
    assert path.stat().st_size < 20 * 1024 * 1024
    assert "「通告書.docx」は文書の中身（XML）が多すぎる" in refused(path)
    with pytest.raises(InvalidInput) as err:  # the same reader takes notices (CLI and Slack uploads)
        read_notice_lines(path)
    assert "文書をいくつかに分けて" in err.value.message


def test_reading_that_runs_past_its_time_stops_with_a_message(tmp_path, monkeypatch):
    from councilbot.adapters.word import reader

    path = render_answer_book(book(), tmp_path / "book.docx")
    monkeypatch.setattr(reader, "READ_SECONDS", 0.0)
    with pytest.raises(InvalidInput) as err:
        read_docx_text(path)
    assert "「book.docx」の読み取りが0秒を超えたため" in err.value.message
