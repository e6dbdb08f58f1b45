"""The answer book as LibreOffice lays it out: PDF pages, fonts, numbering, contents."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from councilbot.adapters.word import convert_to_pdf, libreoffice, render_answer_book
from councilbot.errors import CouncilbotError
from tests.word_samples import book

needs_libreoffice = pytest.mark.skipif(
    libreoffice.find_soffice() is None or shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="LibreOffice (soffice) と poppler-utils (pdftotext, pdffonts) が必要です: "
    "apt-get install libreoffice-writer-nogui fonts-ipafont-mincho fonts-ipafont-gothic poppler-utils",
)


def pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # pdftotext puts spaces between Latin and Japanese characters: compare without any.
    return [re.sub(r"[ \u3000]+", "", page) for page in text.split("\f") if page.strip()]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if libreoffice.find_soffice() is None:
        pytest.skip("LibreOffice がありません")
    out = tmp_path_factory.mktemp("render")
    content = book(include_back_data=True, missing=["R8-12-21-3-2　補聴器購入費の助成について"])
    docx_path = render_answer_book(content, out / "book.docx")
    before = docx_path.read_bytes()
    pdf = convert_to_pdf(docx_path, out / "pdf")
    assert docx_path.read_bytes() == before  # the .docx (and its checksum) is left alone
    return pdf


@pytest.mark.libreoffice
@needs_libreoffice
def test_cover_contents_and_body_pages(rendered):
    text = pages(rendered)
    assert rendered.name == "book.pdf"
    cover, contents, first = text[0], text[1], text[2]
    for expected in ("令和8年12月定例会", "答弁書", "令和8年12月1日", "桜ヶ丘市"):
        assert expected in cover
    assert "－" not in cover  # no page number on the cover
    assert "目次" in contents
    assert "【代表質問】16番山田太郎議員（新政会）" in first
    assert "1-(1)-①避難所の女性への配慮について" in first
    assert "【質問要旨】" in first and "【答弁】" in first and "【バックデータ】" in first
    assert first.rstrip().endswith("－1－")


@pytest.mark.libreoffice
@needs_libreoffice
def test_contents_carry_the_printed_page_numbers(rendered):
    text = pages(rendered)
    contents = text[1]
    body = text[2:]

    def printed_page(heading: str) -> int:
        return next(i + 1 for i, page in enumerate(body) if heading in page)

    for heading in ("【一般質問】3番青木健一議員（市民クラブ）", "3-(1)介護保険料の負担軽減について", "未校了の項目"):
        line = next(line for line in contents.splitlines() if heading in line)
        assert line.rstrip().endswith(str(printed_page(heading))), line
    assert [f"－{n}－" in page for n, page in enumerate(body, start=1)] == [True] * len(body)


def _part(docx_path, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(docx_path) as archive:
        return archive.read(name).decode("utf-8")


@pytest.mark.libreoffice
@needs_libreoffice
def test_the_book_file_opens_with_its_contents_numbered(tmp_path):
    docx_path = render_answer_book(
        book(include_back_data=True, missing=["R8-12-21-3-2　補聴器購入費の助成について"]), tmp_path / "book.docx"
    )
    assert libreoffice.number_contents(docx_path) is None  # no PDF asked for
    # Opened as it is: one plain LibreOffice conversion, nothing filled in on the way.
    soffice = libreoffice.find_soffice()
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "plain"),
            str(docx_path),
        ],
        capture_output=True,
        check=True,
        timeout=600,
    )
    text = pages(tmp_path / "plain" / "book.pdf")
    contents, body = text[1], text[2:]
    for heading in (
        "【代表質問】16番山田太郎議員（新政会）",
        "【一般質問】3番青木健一議員（市民クラブ）",
        "3-(1)介護保険料の負担軽減について",
        "未校了の項目",
    ):
        line = next(line for line in contents.splitlines() if heading in line)
        printed = next(i + 1 for i, page in enumerate(body) if heading in page)
        assert line.rstrip().endswith(str(printed)), line
    # Word shows the cached results as they are: nothing asks it to update (which would prompt).
    assert "updateFields" not in _part(docx_path, "word/settings.xml")
    assert 'w:dirty="true"' not in _part(docx_path, "word/document.xml")


def test_without_libreoffice_the_file_asks_word_to_update_its_contents(tmp_path, monkeypatch):
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    docx_path = render_answer_book(book(), tmp_path / "book.docx")
    assert libreoffice.number_contents(docx_path, pdf_dir=tmp_path) is None
    assert 'w:updateFields w:val="true"' in _part(docx_path, "word/settings.xml")


@pytest.mark.libreoffice
@needs_libreoffice
def test_japanese_text_in_mincho_and_gothic(rendered):
    fonts = subprocess.run(["pdffonts", str(rendered)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Mincho|明朝", fonts), fonts
    assert re.search(r"Gothic|ゴシック", fonts), fonts


@pytest.mark.libreoffice
@needs_libreoffice
def test_draft_book_renders_its_marks(tmp_path):
    pdf = convert_to_pdf(render_answer_book(book(is_draft=True), tmp_path / "draft.docx"), tmp_path)
    text = "".join(pages(pdf))
    assert "案（部長確認中）" in text and "未校了の答弁を含む検討用資料" in text


def test_no_pdf_without_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    assert convert_to_pdf(render_answer_book(book(), tmp_path / "book.docx"), tmp_path) is None


def test_libreoffice_failure_is_explained_in_japanese(tmp_path, monkeypatch):
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: shutil.which("false") or "/bin/false")
    with pytest.raises(CouncilbotError) as info:
        convert_to_pdf(render_answer_book(book(), tmp_path / "book.docx"), tmp_path)
    assert "LibreOfficeで「book.docx」をPDFに変換できませんでした" in info.value.message
    assert not list(tmp_path.glob("*.pdf"))
