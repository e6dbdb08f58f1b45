"""Answer books from the database: variants, order, missing items, permission, checksum, round trip."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from docx import Document
from sqlalchemy import func, select

from councilbot.errors import InvalidInput, NotFound, PermissionDenied
from councilbot.fsutil import sha256_file
from councilbot.services import assignment, books, intake, review
from councilbot.services.archive import import_file
from councilbot.services.common import get_question, get_user
from councilbot.settings import Settings
from councilbot.storage.db import ensure_schema, session_scope
from councilbot.storage.models import ExportRecord, PastAnswer

SESSION = "令和8年12月定例会"
# (seat, type, item, title, division, answerer, final?)
ITEMS = [
    (3, "一般質問", "1", "不登校児童生徒への支援について", "学校教育課", "教育長", True),
    (16, "代表質問", "1-(1)-①", "避難所における女性への配慮について", "危機管理課", "市長", True),
    (16, "代表質問", "1-(1)-②", "災害時のトイレ対策について", "危機管理課", "総務部長", False),
    (21, "一般質問", "2", "校内教育支援センターについて", "学校教育課", "教育部長", True),
]
DRAFTER = {"危機管理課": "UKK1", "学校教育課": "UGK1"}
APPROVERS = {
    ("危機管理課", "市長"): ["UKK2", "USB1", "UMY1"],
    ("危機管理課", "総務部長"): ["UKK2"],  # stops at the 部長 stage
    ("学校教育課", "教育長"): ["UGK2", "UKB1", "UKY1"],
    ("学校教育課", "教育部長"): ["UGK2", "UKB1"],
}


def _act(settings, user, fn, *args, **kwargs):
    with session_scope(settings) as db:
        return fn(db, get_user(db, user), *args, **kwargs)


@pytest.fixture
def session_book(org):
    """Four items: three final, one waiting at the 部長 stage."""
    keys = []
    for seat, qtype, item, title, division, answerer, final in ITEMS:
        data = intake.QuestionInput(
            session_name=SESSION,
            seat=seat,
            question_type=qtype,
            item_no=item,
            title=title,
            body=f"{title}、市の見解を伺う。",
        )
        with session_scope(org) as db:
            key = intake.register_question(db, get_user(db, "UGA1"), data).question.key
        keys.append(key)
        _act(org, "UGA1", assignment.assign, key, division, answerer=answerer)
        _act(
            org,
            DRAFTER[division],
            review.save_revision,
            key,
            answer=f"お答えいたします。{title.removesuffix('について')}につきましては、着実に取り組んでまいります。",
            back_data=f"{division}の資料",
        )
        _act(org, DRAFTER[division], review.submit, key)
        for approver in APPROVERS[(division, answerer)]:
            _act(org, approver, review.approve, key)
        if final:
            with session_scope(org) as db:
                review.finalize(db, org, get_user(db, "UGA1"), key)
    return org, keys


def _headings(path, level):
    return [p.text for p in Document(str(path)).paragraphs if p.style.name == f"Heading {level}"]


def test_final_book_holds_final_answers_in_speaking_order_and_lists_the_rest(session_book):
    settings, keys = session_book
    with session_scope(settings) as db:
        result = books.export_book(db, settings, get_user(db, "UGA1"), SESSION)
    assert result.item_count == 3 and result.path.parent == settings.export_dir
    members = _headings(result.path, 1)
    # 代表質問 first, then general questions in the order members were registered.
    assert [m for m in members if "番" in m][:3] == [
        next(m for m in members if "山田" in m),
        next(m for m in members if "青木" in m),
        next(m for m in members if "松本" in m),
    ]
    assert "代表質問" in members[0]
    items = _headings(result.path, 2)
    assert any(h.startswith("1-(1)-①") for h in items) and not any(h.startswith("1-(1)-②") for h in items)
    assert [m for m in result.missing if keys[2] in m] and "部長確認中" in result.missing[0]
    text = "\n".join(p.text for p in Document(str(result.path)).paragraphs)
    assert "未校了" in text and "バックデータ" not in text


def test_review_meeting_variant_marks_unfinished_answers_as_drafts_with_their_stage(session_book):
    settings, _keys = session_book
    with session_scope(settings) as db:
        result = books.export_book(db, settings, get_user(db, "UGA1"), SESSION, draft=True, back_data=True)
    assert result.item_count == 4
    text = "\n".join(p.text for p in Document(str(result.path)).paragraphs)
    assert "案（部長確認中）" in text and "危機管理課の資料" in text


def test_extracts_by_division_and_by_member(session_book):
    settings, _ = session_book
    with session_scope(settings) as db:
        ga = get_user(db, "UGA1")
        by_division = books.export_book(db, settings, ga, SESSION, by="department", only="学校教育課")
        by_member = books.export_book(db, settings, ga, SESSION, by="member", only="山田 太郎", draft=True)
    assert by_division.item_count == 2 and by_member.item_count == 2
    division_text = "\n".join(p.text for p in Document(str(by_division.path)).paragraphs)
    assert "不登校児童生徒への支援について" in division_text and "避難所" not in division_text
    assert _headings(by_member.path, 1) == ["【代表質問】16番　山田 太郎議員（新政会）"]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"only": "学校教育課"}, InvalidInput),
        ({"by": "department", "only": "財務課"}, NotFound),
        ({"by": "faction"}, InvalidInput),
        ({"out": "book.pdf"}, InvalidInput),
    ],
)
def test_bad_export_requests_are_refused_and_record_nothing(session_book, kwargs, error):
    settings, _ = session_book
    with pytest.raises(error):
        with session_scope(settings) as db:
            books.export_book(db, settings, get_user(db, "UGA1"), SESSION, **kwargs)
    with session_scope(settings) as db:
        assert db.scalar(select(func.count()).select_from(ExportRecord)) == 0


def test_only_general_affairs_exports(session_book):
    settings, _ = session_book
    with pytest.raises(PermissionDenied):
        with session_scope(settings) as db:
            books.export_book(db, settings, get_user(db, "UKK2"), SESSION)
    assert not settings.export_dir.exists() or not any(settings.export_dir.iterdir())


def test_checksum_is_recorded_and_matches_the_file(session_book):
    settings, _ = session_book
    with session_scope(settings) as db:
        result = books.export_book(db, settings, get_user(db, "UGA1"), SESSION)
    with session_scope(settings) as db:
        record = db.scalar(select(ExportRecord))
        assert record.sha256 == sha256_file(result.path) == result.sha256 and record.item_count == 3


def test_round_trip_into_an_empty_archive(session_book, tmp_path):
    settings, _keys = session_book
    with session_scope(settings) as db:
        book = books.export_book(db, settings, get_user(db, "UGA1"), SESSION, back_data=True)
        originals = {
            (p.member, p.item_no): (p.question, p.answer, p.answerer, p.title, p.back_data)
            for p in db.scalars(select(PastAnswer).where(PastAnswer.source == "final"))
        }
    empty = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path}/empty.db", INDEX_DIR=tmp_path / "idx2", EXPORT_DIR=tmp_path / "x2"
    )
    ensure_schema(empty)
    with session_scope(empty) as db:
        import_file(db, empty, book.path)
    with session_scope(empty) as db:
        imported = {
            (p.member, p.item_no): (p.question, p.answer, p.answerer, p.title, p.back_data)
            for p in db.scalars(select(PastAnswer))
        }
    assert imported == originals and len(imported) == 3


@pytest.mark.libreoffice
def test_libreoffice_renders_the_exported_book_with_japanese_text_and_page_numbers(session_book, tmp_path):
    if not (shutil.which("soffice") and shutil.which("pdftotext")):
        pytest.skip("LibreOffice と poppler-utils がないため省略（scripts/ensure-test-tools.sh で導入できます）")
    settings, _ = session_book
    with session_scope(settings) as db:
        result = books.export_book(db, settings, get_user(db, "UGA1"), SESSION, pdf=True)
    assert result.pdf_path and result.pdf_path.exists()
    text = subprocess.run(
        ["pdftotext", "-layout", str(result.pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "避難所における女性への配慮について" in text and "お答えいたします" in text
    assert "－ 1 －" in text and "目" in text
    # The .docx itself carries the contents' page numbers: nothing is left for Word to update (a prompt).
    import zipfile

    with zipfile.ZipFile(result.path) as archive:
        assert b"updateFields" not in archive.read("word/settings.xml")
    assert result.sha256 == sha256_file(result.path)


def test_a_missing_or_broken_template_is_refused_before_anything_is_written(session_book, tmp_path):
    settings, _ = session_book
    broken = tmp_path / "template.docx"
    broken.write_text("これはWordファイルではありません", encoding="utf-8")
    for template in (tmp_path / "nothere.docx", broken):
        with pytest.raises(InvalidInput):
            with session_scope(settings) as db:
                books.export_book(db, settings, get_user(db, "UGA1"), SESSION, template=template)
    assert not settings.export_dir.exists() or not any(settings.export_dir.iterdir())


def _model_drafted_item(settings, seat, title, model_text):
    """An item in 危機管理課 whose latest revision is a model's draft."""
    data = intake.QuestionInput(
        session_name=SESSION, seat=seat, question_type="一般質問", item_no="1", title=title, body=f"{title}伺う。"
    )
    with session_scope(settings) as db:
        key = intake.register_question(db, get_user(db, "UGA1"), data).question.key
    _act(settings, "UGA1", assignment.assign, key, "危機管理課", answerer="総務部長")
    _act(
        settings,
        "UKK1",
        review.save_revision,
        key,
        answer=model_text,
        origin="ai",
        model="test-model",
        prompt_hash="abc",
    )
    return key


def _finalise_and_export(settings, key):
    _act(settings, "UKK1", review.submit, key)
    for approver in ("UKK2", "USB1"):
        _act(settings, approver, review.approve, key)
    with session_scope(settings) as db:
        review.finalize(db, settings, get_user(db, "UGA1"), key)
        return books.export_book(db, settings, get_user(db, "UGA1"), SESSION)


def test_an_ai_draft_used_as_is_stays_labelled_into_the_book_and_reads_back_clean(org, tmp_path):
    model_text = "お答えいたします。生成AIにつきましては、ガイドラインを定めて活用してまいります。"
    key = _model_drafted_item(org, 16, "生成AIの活用について", model_text)
    # The drafter submits it without touching the text: it is still the model's answer.
    _act(org, "UKK1", review.save_revision, key, answer=model_text, back_data="根拠資料")
    with session_scope(org) as db:
        latest = get_question(db, key).latest_revision
        assert (latest.origin, latest.model, latest.is_ai_label) == ("ai", "test-model", True)
    _act(org, "UKK1", review.save_revision, key, answer=model_text + "以上でございます。")
    with session_scope(org) as db:
        assert not get_question(db, key).latest_revision.is_ai_label  # edited by a person
    _act(org, "UKK1", review.save_revision, key, answer=model_text)  # back to the model's words, typed by a person
    book = _finalise_and_export(org, key)
    text = "\n".join(p.text for p in Document(str(book.path)).paragraphs)
    # A person's edit in between ends the label, even if the words later match the model's again.
    assert "生成AIが作成した下書きを編集せずに使用" not in text


def test_the_book_marks_an_unedited_ai_answer_and_the_archive_reads_it_without_the_note(org, tmp_path):
    model_text = "お答えいたします。窓口のDXにつきましては、段階的に進めてまいります。"
    book = _finalise_and_export(org, _model_drafted_item(org, 3, "窓口のDXについて", model_text))
    text = "\n".join(p.text for p in Document(str(book.path)).paragraphs)
    assert "※この答弁は、生成AIが作成した下書きを編集せずに使用しています。" in text
    empty = Settings(DATABASE_URL=f"sqlite:///{tmp_path}/e.db", INDEX_DIR=tmp_path / "i", EXPORT_DIR=tmp_path / "x")
    ensure_schema(empty)
    with session_scope(empty) as db:
        import_file(db, empty, book.path)
    with session_scope(empty) as db:
        assert db.scalar(select(PastAnswer)).answer == model_text


def test_a_book_too_long_to_lay_out_at_export_asks_word_to_update_its_contents(session_book, monkeypatch):
    import zipfile

    from councilbot.adapters.word import libreoffice

    settings, _ = session_book
    monkeypatch.setattr(books, "CONTENTS_NUMBERED_UP_TO", 0)
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: pytest.fail("LibreOffice must not run for this book"))
    with session_scope(settings) as db:
        result = books.export_book(db, settings, get_user(db, "UGA1"), SESSION)
    with zipfile.ZipFile(result.path) as archive:
        assert b'w:updateFields w:val="true"' in archive.read("word/settings.xml")


def test_export_reports_its_progress_item_by_item_to_the_end(session_book):
    settings, _ = session_book
    reports: list[tuple[int, int]] = []
    with session_scope(settings) as db:
        result = books.export_book(
            db,
            settings,
            get_user(db, "UGA1"),
            SESSION,
            draft=True,
            progress=lambda done, total: reports.append((done, total)),
        )
    assert reports[-1] == (result.item_count, result.item_count)
    assert [done for done, _ in reports] == sorted({done for done, _ in reports})  # only forward
