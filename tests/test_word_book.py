"""The answer book as Word writes it: read back with python-docx."""

from __future__ import annotations

import zipfile

import docx
import pytest
from docx.oxml.ns import qn

from councilbot.adapters.word import render_answer_book
from tests.word_samples import book

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
THEME_ATTRS = ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme")


def paragraphs(path):
    return [(p.style.name, p.text) for p in docx.Document(str(path)).paragraphs]


def texts_in(path, style_name):
    return [text for style, text in paragraphs(path) if style == style_name]


@pytest.fixture
def final_book(tmp_path):
    return render_answer_book(
        book(include_back_data=True, missing=["R8-12-21-3-2　補聴器購入費の助成について"]), tmp_path / "book.docx"
    )


def test_page_is_a4_portrait(final_book):
    for section in docx.Document(str(final_book)).sections:
        assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_cover_has_city_session_title_and_era_date(final_book):
    texts = [t for _, t in paragraphs(final_book)[:4]]
    assert texts == ["令和8年12月定例会", "答弁書", "令和8年12月1日", "桜ヶ丘市"]


def test_members_in_given_order_each_under_heading_1(final_book):
    assert texts_in(final_book, "Heading 1") == [
        "【代表質問】16番　山田 太郎議員（新政会）",
        "【一般質問】3番　青木 健一議員（市民クラブ）",
        "【一般質問】21番　松本 陽子議員（日本共産党）",
        "未校了の項目",
    ]


def test_item_headings_carry_the_exact_item_number(final_book):
    assert texts_in(final_book, "Heading 2") == [
        "1-(1)-①　避難所の女性への配慮について",
        "1-(1)-②　災害時のトイレ対策について",
        "2　物価高騰対策について",
        "1-(2)　不登校児童生徒への支援について",
        "3-(1)　介護保険料の負担軽減について",
    ]


def test_labelled_blocks_in_order(final_book):
    texts = [t for _, t in paragraphs(final_book)]
    start = texts.index("1-(1)-①　避難所の女性への配慮について")
    assert texts[start + 1 : start + 8] == [
        "【質問要旨】",
        "避難所の女性への配慮について、本市の現状と課題を伺う。",
        "併せて今後の方針を伺う。",
        "【答弁者】市長　　【担当課】防災危機管理課",
        "【答弁】",
        "　避難所の女性への配慮について、お答えいたします。",
        "　本市では、令和5年度から取組を進めております。\tＤＸも推進します。",
    ]


def test_back_data_is_boxed_when_asked_for(final_book, tmp_path):
    assert texts_in(final_book, "バックデータ") == [
        "【バックデータ】",
        "令和5年度　避難所開設12回",
        "【バックデータ】",
        "校内教育支援センター　8校",
    ]
    style = docx.Document(str(final_book)).styles["バックデータ"].element
    assert style.find(f"{W}pPr/{W}pBdr") is not None
    without = render_answer_book(book(include_back_data=False), tmp_path / "plain.docx")
    assert texts_in(without, "バックデータ") == []
    assert not any("避難所開設" in t for _, t in paragraphs(without))


def test_missing_items_listed_at_the_end(final_book):
    texts = [t for _, t in paragraphs(final_book)]
    assert texts[texts.index("未校了の項目") + 1 :] == [
        "次の1項目は校了していないため、この答弁書には掲載していません。",
        "・R8-12-21-3-2　補聴器購入費の助成について",
    ]


def test_draft_book_marks_unfinished_items_and_every_page(tmp_path):
    path = render_answer_book(book(is_draft=True), tmp_path / "draft.docx")
    assert texts_in(path, "案表示") == ["案（部長確認中）", "案（課長確認中）"]
    texts = [t for _, t in paragraphs(path)]
    assert texts[texts.index("1-(1)-②　災害時のトイレ対策について") + 1] == "案（部長確認中）"
    document = docx.Document(str(path))
    assert "案" in document.sections[0].header.paragraphs[0].text
    assert all(s.header.is_linked_to_previous for s in document.sections[1:])


def test_final_book_has_no_draft_marks(final_book):
    document = docx.Document(str(final_book))
    assert texts_in(final_book, "案表示") == []
    assert all(not p.text for s in document.sections for p in s.header.paragraphs)


def test_every_style_names_east_asian_and_latin_fonts_without_theme_fonts(final_book):
    styles = docx.Document(str(final_book)).styles.element
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
    assert defaults.find(f"{W}rFonts").get(qn("w:eastAsia")) == "ＭＳ 明朝"
    assert defaults.find(f"{W}lang").get(qn("w:eastAsia")) == "ja-JP"
    checked = 0
    for style in styles.findall(f"{W}style"):
        if style.get(qn("w:type")) == "numbering":
            continue
        fonts = style.find(f"{W}rPr/{W}rFonts")
        name = style.find(f"{W}name").get(qn("w:val"))
        assert fonts is not None, name
        assert fonts.get(qn("w:eastAsia")) in ("ＭＳ 明朝", "ＭＳ ゴシック"), name
        assert fonts.get(qn("w:ascii")) and fonts.get(qn("w:hAnsi")), name
        assert not any(fonts.get(qn(f"w:{a}")) for a in THEME_ATTRS), name
        checked += 1
    assert checked > 20
    document = docx.Document(str(final_book))
    for name, east_asian in (
        ("Normal", "ＭＳ 明朝"),
        ("Heading 1", "ＭＳ ゴシック"),
        ("Heading 2", "ＭＳ ゴシック"),
        ("答弁本文", "ＭＳ 明朝"),
        ("toc 2", "ＭＳ 明朝"),
        ("Title", "ＭＳ ゴシック"),
    ):
        fonts = document.styles[name].element.find(f"{W}rPr/{W}rFonts")
        assert fonts.get(qn("w:eastAsia")) == east_asian, name


def test_no_theme_fonts_anywhere_in_the_package(final_book):
    with zipfile.ZipFile(final_book) as archive:
        for name in ("word/document.xml", "word/styles.xml"):
            xml = archive.read(name).decode("utf-8")
            assert "asciiTheme" not in xml and "eastAsiaTheme" not in xml, name


def test_table_of_contents_field_refreshed_on_open(final_book):
    document = docx.Document(str(final_book))
    instructions = [el.text for el in document.element.body.iter(f"{W}instrText")]
    assert any(i.strip().startswith('TOC \\o "1-2"') for i in instructions)
    assert document.settings.element.find(f"{W}updateFields").get(qn("w:val")) == "true"
    # The field's current result already lists every heading, linked to its bookmark.
    toc = texts_in(final_book, "toc 1") + texts_in(final_book, "toc 2")
    assert "1-(1)-①　避難所の女性への配慮について\t" in toc
    assert "【一般質問】3番　青木 健一議員（市民クラブ）\t" in toc
    bookmarks = {b.get(qn("w:name")) for b in document.element.body.iter(f"{W}bookmarkStart")}
    anchors = {h.get(qn("w:anchor")) for h in document.element.body.iter(f"{W}hyperlink")}
    assert anchors and anchors <= bookmarks


def test_body_pages_numbered_with_full_width_dashes(final_book):
    document = docx.Document(str(final_book))
    body = document.sections[-1]
    assert len(document.sections) == 3  # cover, contents, body
    footer = body.footer.paragraphs[0]
    assert footer.text.startswith("－ ") and footer.text.endswith(" －")
    assert [i.text.strip() for i in footer._p.iter(f"{W}instrText")] == ["PAGE"]
    assert body._sectPr.find(f"{W}pgNumType").get(qn("w:start")) == "1"
    assert not document.sections[0].footer.paragraphs[0].text  # no number on the cover


def test_text_with_control_characters_still_makes_a_valid_file(tmp_path):
    content = book()
    content.members[0].items[0].answer = "改行\x0bや\x07制御文字を含む答弁"
    path = render_answer_book(content, tmp_path / "odd.docx")
    assert "改行や制御文字を含む答弁" in [t for _, t in paragraphs(path)]


def test_empty_book_says_so(tmp_path):
    content = book()
    content.members = []
    content.missing = ["R8-12-16-1-1-1　避難所の女性への配慮について"]
    texts = [t for _, t in paragraphs(render_answer_book(content, tmp_path / "empty.docx"))]
    assert "掲載する答弁はありません。" in texts and "未校了の項目" in texts


def test_write_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "exports" / "book.docx"
    first = render_answer_book(book(), target)
    render_answer_book(book(include_back_data=True), target)
    assert first == target and [p.name for p in target.parent.iterdir()] == ["book.docx"]
    assert "【バックデータ】" in [t for _, t in paragraphs(target)]


def make_template(path):
    """A city's template: its own Normal and Heading 1, a header, Letter paper."""
    document = docx.Document()
    normal = document.styles["Normal"].element
    rpr = normal.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:ascii"), "Times New Roman")
    fonts.set(qn("w:eastAsia"), "游明朝")
    heading = document.styles["Heading 1"]
    heading.font.size = docx.shared.Pt(20)
    document.sections[0].header.paragraphs[0].text = "桜ヶ丘市議会事務局"
    document.add_paragraph("テンプレートの見本文（消えるべき本文）")
    document.save(str(path))
    return path


def test_template_styles_and_page_setup_are_used(tmp_path):
    template = make_template(tmp_path / "city.docx")
    path = render_answer_book(book(include_back_data=True), tmp_path / "book.docx", template=template)
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    assert "テンプレートの見本文（消えるべき本文）" not in texts
    assert "1-(1)-①　避難所の女性への配慮について" in texts
    normal_fonts = document.styles["Normal"].element.find(f"{W}rPr/{W}rFonts")
    assert normal_fonts.get(qn("w:eastAsia")) == "游明朝"  # the city's choice is kept
    assert normal_fonts.get(qn("w:ascii")) == "Times New Roman"
    assert document.styles["Heading 1"].font.size == docx.shared.Pt(20)
    assert round(document.sections[-1].page_width.mm) == 216  # the template's Letter paper
    assert document.sections[-1].header.paragraphs[0].text == "桜ヶ丘市議会事務局"
    # Styles the template lacks are added, with explicit fonts.
    label = document.styles["答弁ラベル"].element.find(f"{W}rPr/{W}rFonts")
    assert label.get(qn("w:eastAsia")) == "ＭＳ ゴシック"
