"""Answer books (答弁書) as Word documents (the contents' page numbers and the PDF: libreoffice.py).

The document is laid out the way a city hall prints it: A4, a cover, a table of
contents, one part per member in speaking order, each item under a heading that
carries its number (``1-(2)-①``), labelled blocks for the question, answerer and
answer, back data in a box, and 「－ n －」 page numbers.

Fonts are always explicit: every style names a Latin font and an East Asian font
(``w:eastAsia``) and no theme fonts remain, so Word, LibreOffice and the PDF show
mincho for text and gothic for headings whatever the reader's defaults are.

The body is generated as one XML fragment and parsed once: a 1,000-item book is
tens of thousands of paragraphs, far too many for python-docx's per-paragraph
API to add quickly.
"""

from __future__ import annotations

import copy
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import OxmlElement, parse_xml
from docx.oxml.styles import CT_Style
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import _BaseHeaderFooter
from docx.shared import Mm
from lxml import etree

from councilbot.domain.book import AI_AS_IS_NOTE, AnswerBookContent, BookItem, BookMember
from councilbot.domain.era import to_wareki
from councilbot.fsutil import atomic_write_bytes

BODY_FONTS = ("Century", "ＭＳ 明朝")  # (Latin, East Asian)
HEADING_FONTS = ("Arial", "ＭＳ ゴシック")
PROGRESS_EVERY = 50  # items between progress reports

# Labels printed before each block; the reader recognises the same words.
LABEL_QUESTION = "質問要旨"
LABEL_ANSWERER = "答弁者"
LABEL_DEPARTMENT = "担当課"
LABEL_ANSWER = "答弁"
LABEL_BACK_DATA = "バックデータ"
TOC_TITLE = "目　次"
MISSING_TITLE = "未校了の項目"
TOC_INSTRUCTION = ' TOC \\o "1-2" \\h \\z \\u '

_THEME_FONT_ATTRS = tuple(qn(f"w:{a}") for a in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"))
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TOC_BOOKMARK = "_Toc{:08d}"
BODY_BOOKMARK = "_CbBody"  # first paragraph of the numbered part


@dataclass(frozen=True)
class _StyleSpec:
    """A style the book uses: found by name in a template, otherwise created."""

    name: str  # internal (w:name) name, as Word stores it
    style_id: str  # id used when we create it
    gothic: bool


# role → style. Japanese names for our own styles: staff see them in Word's style list.
_STYLES: dict[str, _StyleSpec] = {
    "normal": _StyleSpec("Normal", "Normal", False),
    "title": _StyleSpec("Title", "Title", True),
    "cover": _StyleSpec("答弁書表紙", "CbCover", False),
    "toc_heading": _StyleSpec("TOC Heading", "TOCHeading", True),
    "toc1": _StyleSpec("toc 1", "TOC1", False),
    "toc2": _StyleSpec("toc 2", "TOC2", False),
    "heading1": _StyleSpec("heading 1", "Heading1", True),
    "heading2": _StyleSpec("heading 2", "Heading2", True),
    "label": _StyleSpec("答弁ラベル", "CbLabel", True),
    "text": _StyleSpec("答弁本文", "CbText", False),
    "back_data": _StyleSpec("バックデータ", "CbBackData", False),
    "draft": _StyleSpec("案表示", "CbDraft", True),
    "header": _StyleSpec("header", "Header", False),
    "footer": _StyleSpec("footer", "Footer", False),
}
_GOTHIC_PREFIXES = ("heading", "title", "subtitle", "toc heading")


def render_answer_book(
    content: AnswerBookContent,
    path: str | os.PathLike[str],
    *,
    template: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``content`` as a .docx at ``path`` (atomically) and return the path.

    ``progress(items written, items)`` is called as the items are laid out.

    With ``template`` (a city's own .docx), its styles, page set-up and header or
    footer are kept and its body is replaced; styles the book needs that the
    template lacks are added.
    """
    document = docx.Document(str(template)) if template else docx.Document()
    if template:
        _clear_body(document)
    else:
        _set_up_page(document)
    style_ids = _prepare_styles(document, define_all=template is None)
    _request_field_update(document)

    base_sect = document.element.body.sectPr
    # Cover and contents are sections without page numbers; the body restarts at 1.
    plain_sect = copy.deepcopy(base_sect)
    for ref in plain_sect.xpath("w:headerReference | w:footerReference"):
        plain_sect.remove(ref)
    for child in plain_sect.xpath("w:pgNumType | w:titlePg | w:type"):
        plain_sect.remove(child)
    for child in base_sect.xpath("w:type"):  # every part starts on a new page
        base_sect.remove(child)

    builder = _BookXml(content, style_ids, _xml(plain_sect), progress)
    fragment = parse_xml(f"<w:body {nsdecls('w')}>{builder.build()}</w:body>")
    for child in list(fragment):
        base_sect.addprevious(child)
    _restart_page_numbers(base_sect)

    sections = document.sections
    body_section = sections[len(sections) - 1]
    if body_section.footer.is_linked_to_previous:
        _write_page_number_footer(body_section.footer, style_ids["footer"])
    if content.is_draft:
        _write_draft_header(sections[0].header, style_ids["header"])

    buffer = io.BytesIO()
    document.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


# --- document set-up -------------------------------------------------------------


def _clear_body(document: Document) -> None:
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)


def _set_up_page(document: Document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(30), Mm(25)
    section.left_margin, section.right_margin = Mm(30), Mm(25)
    section.header_distance, section.footer_distance = Mm(15), Mm(12)


def _request_field_update(document: Document) -> None:
    """Ask Word to refresh the fields (the table of contents) when the file is opened."""
    settings = document.settings.element
    for old in settings.findall(qn("w:updateFields")):
        settings.remove(old)
    update = OxmlElement("w:updateFields", {qn("w:val"): "true"})
    _insert_before(settings, update, _SETTINGS_AFTER_UPDATE_FIELDS)


def _restart_page_numbers(sect_pr: BaseOxmlElement) -> None:
    for old in sect_pr.findall(qn("w:pgNumType")):
        sect_pr.remove(old)
    _insert_before(sect_pr, OxmlElement("w:pgNumType", {qn("w:start"): "1"}), _SECTPR_AFTER_PGNUMTYPE)


_SETTINGS_AFTER_UPDATE_FIELDS = (
    "hdrShapeDefaults",
    "footnotePr",
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "mathPr",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "schemaLibrary",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
)
_SECTPR_AFTER_PGNUMTYPE = (
    "cols",
    "formProt",
    "vAlign",
    "noEndnote",
    "titlePg",
    "textDirection",
    "bidi",
    "rtlGutter",
    "docGrid",
    "printerSettings",
    "sectPrChange",
)
_RPR_AFTER_LANG = ("eastAsianLayout", "specVanish", "oMath")


def _insert_before(parent: BaseOxmlElement, child: BaseOxmlElement, successors: tuple[str, ...]) -> None:
    """Insert ``child`` before the first of ``successors`` present (schema order), else append."""
    tags = {qn(f"w:{name}") for name in successors}
    for existing in parent:
        if existing.tag in tags:
            existing.addprevious(child)
            return
    parent.append(child)


# --- styles ----------------------------------------------------------------------

# Paragraph and run properties of each style when we define it (schema order kept).
_LOOKS: dict[str, tuple[str, str]] = {
    "normal": (
        '<w:spacing w:after="0" w:line="300" w:lineRule="auto"/><w:jc w:val="both"/>',
        '<w:kern w:val="2"/><w:sz w:val="22"/><w:szCs w:val="22"/>',
    ),
    "title": (
        '<w:spacing w:before="480" w:after="480"/><w:jc w:val="center"/>',
        '<w:b/><w:bCs/><w:spacing w:val="40"/><w:sz w:val="56"/><w:szCs w:val="56"/>',
    ),
    "cover": ('<w:spacing w:after="240"/><w:jc w:val="center"/>', '<w:sz w:val="32"/><w:szCs w:val="32"/>'),
    "toc_heading": (
        '<w:spacing w:after="360"/><w:jc w:val="center"/><w:outlineLvl w:val="9"/>',
        '<w:b/><w:bCs/><w:sz w:val="32"/><w:szCs w:val="32"/>',
    ),
    "toc1": (
        '<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{width}"/></w:tabs>'
        '<w:spacing w:before="120" w:after="0"/><w:jc w:val="left"/>',
        "<w:b/><w:bCs/>",
    ),
    "toc2": (
        '<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{width}"/></w:tabs>'
        '<w:spacing w:after="0"/><w:ind w:left="440"/><w:jc w:val="left"/>',
        "",
    ),
    "heading1": (
        '<w:keepNext/><w:keepLines/><w:pBdr><w:bottom w:val="single" w:sz="8" w:space="4" w:color="000000"/>'
        '</w:pBdr><w:spacing w:before="0" w:after="240"/><w:jc w:val="left"/><w:outlineLvl w:val="0"/>',
        '<w:b/><w:bCs/><w:sz w:val="28"/><w:szCs w:val="28"/>',
    ),
    "heading2": (
        '<w:keepNext/><w:keepLines/><w:spacing w:before="360" w:after="120"/><w:jc w:val="left"/>'
        '<w:outlineLvl w:val="1"/>',
        '<w:b/><w:bCs/><w:sz w:val="24"/><w:szCs w:val="24"/>',
    ),
    "label": (
        '<w:keepNext/><w:spacing w:before="120" w:after="40"/><w:jc w:val="left"/>',
        '<w:sz w:val="22"/><w:szCs w:val="22"/>',
    ),
    "text": ('<w:ind w:left="220"/>', '<w:sz w:val="24"/><w:szCs w:val="24"/>'),
    "back_data": (
        '<w:pBdr><w:top w:val="single" w:sz="4" w:space="4" w:color="808080"/>'
        '<w:left w:val="single" w:sz="4" w:space="4" w:color="808080"/>'
        '<w:bottom w:val="single" w:sz="4" w:space="4" w:color="808080"/>'
        '<w:right w:val="single" w:sz="4" w:space="4" w:color="808080"/></w:pBdr>'
        '<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/><w:ind w:left="320" w:right="100"/>',
        '<w:sz w:val="20"/><w:szCs w:val="20"/>',
    ),
    "draft": (
        '<w:keepNext/><w:spacing w:before="60" w:after="60"/><w:jc w:val="left"/>',
        '<w:b/><w:bCs/><w:color w:val="C00000"/><w:bdr w:val="single" w:sz="8" w:space="1" w:color="C00000"/>',
    ),
    "header": ('<w:jc w:val="right"/>', ""),
    "footer": ('<w:jc w:val="center"/>', ""),
}


def _prepare_styles(document: Document, *, define_all: bool) -> dict[str, str]:
    """Find or create every style the book uses; return role → style id.

    ``define_all`` (no template) gives every style our look; with a template,
    only the styles it lacks are created. Either way every style ends up with
    explicit Latin and East Asian fonts and no theme fonts.
    """
    styles_el = document.styles.element
    section = document.sections[0]
    # A template without a page size or margins is laid out as A4 without margins.
    page_width = section.page_width or Mm(210)
    text_width = int((page_width - (section.left_margin or 0) - (section.right_margin or 0)) / 635)
    ids: dict[str, str] = {}
    for role, spec in _STYLES.items():
        style = styles_el.get_by_name(spec.name)
        created = style is None
        if created:
            style = styles_el.add_style_of_type(
                spec.name, WD_STYLE_TYPE.PARAGRAPH, builtin=not spec.style_id.startswith("Cb")
            )
            style.styleId = spec.style_id
        if created or define_all:
            _define_style(style, _LOOKS[role], text_width, None if role == "normal" else ids["normal"])
        ids[role] = style.styleId
    _make_fonts_explicit(document, override=define_all)
    return ids


def _define_style(style: CT_Style, look: tuple[str, str], text_width: int, based_on: str | None) -> None:
    """Replace a style's formatting with ``look`` (paragraph and run properties)."""
    for child in style.xpath("w:basedOn | w:next | w:link | w:pPr | w:rPr"):
        style.remove(child)
    if based_on:
        style.find(qn("w:name")).addnext(OxmlElement("w:basedOn", {qn("w:val"): based_on}))
    ppr, rpr = look
    style.append(parse_xml(f"<w:pPr {nsdecls('w')}>{ppr.format(width=text_width)}</w:pPr>"))
    style.append(parse_xml(f"<w:rPr {nsdecls('w')}>{rpr}</w:rPr>"))


def _is_gothic(style_name: str) -> bool:
    lowered = style_name.lower()
    return lowered.startswith(_GOTHIC_PREFIXES) or any(
        spec.gothic and spec.name == style_name for spec in _STYLES.values()
    )


def _make_fonts_explicit(document: Document, *, override: bool) -> None:
    """Give docDefaults and every style explicit fonts and a Japanese language tag."""
    styles_el = document.styles.element
    defaults = styles_el.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles_el.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = parse_xml(f"<w:rPr {nsdecls('w')}/>")
        rpr_default.append(rpr)
    _set_fonts(rpr, BODY_FONTS, override=override)
    _set_japanese_language(rpr)
    for style in styles_el.findall(qn("w:style")):
        if style.get(qn("w:type")) == "numbering":
            continue
        name_el = style.find(qn("w:name"))
        name = name_el.get(qn("w:val")) if name_el is not None else ""
        _set_fonts(style.get_or_add_rPr(), HEADING_FONTS if _is_gothic(name) else BODY_FONTS, override=override)
    # Conditional formats of table styles, and anything else still on theme fonts.
    for rfonts in styles_el.iter(qn("w:rFonts")):
        theme = rfonts.get(qn("w:asciiTheme")) or rfonts.get(qn("w:eastAsiaTheme"))
        if theme:
            _set_fonts(rfonts.getparent(), HEADING_FONTS if theme.startswith("major") else BODY_FONTS, override=False)


def _set_fonts(rpr: BaseOxmlElement, fonts: tuple[str, str], *, override: bool) -> None:
    latin, east_asian = fonts
    rfonts = rpr.get_or_add_rFonts()
    for attr in _THEME_FONT_ATTRS:
        rfonts.attrib.pop(attr, None)
    for attr, value in (("ascii", latin), ("hAnsi", latin), ("cs", latin), ("eastAsia", east_asian)):
        if override or not rfonts.get(qn(f"w:{attr}")):
            rfonts.set(qn(f"w:{attr}"), value)


def _set_japanese_language(rpr: BaseOxmlElement) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        _insert_before(rpr, lang, _RPR_AFTER_LANG)
    lang.set(qn("w:val"), lang.get(qn("w:val")) or "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")


# --- header and footer -----------------------------------------------------------


def _write_page_number_footer(footer: _BaseHeaderFooter, style_id: str) -> None:
    """「－ n －」 centred: the PAGE field between full-width dashes."""
    footer.is_linked_to_previous = False
    _replace_paragraphs(footer, _paragraph(style_id, _run("－ ") + _field(" PAGE ", "1") + _run(" －")))


def _write_draft_header(header: _BaseHeaderFooter, style_id: str) -> None:
    """A boxed 「案」 at the top right of every page of a review-meeting book."""
    header.is_linked_to_previous = False
    mark = '<w:rPr><w:b/><w:color w:val="C00000"/><w:sz w:val="32"/><w:bdr w:val="single" w:sz="12" w:space="1" w:color="C00000"/></w:rPr>'
    note = '<w:rPr><w:color w:val="C00000"/><w:sz w:val="18"/></w:rPr>'
    _replace_paragraphs(header, _paragraph(style_id, _run("未校了の答弁を含む検討用資料　", note) + _run("案", mark)))


def _replace_paragraphs(part: _BaseHeaderFooter, paragraph_xml: str) -> None:
    container = part._element
    for p in container.findall(qn("w:p")):
        container.remove(p)
    container.append(parse_xml(f"<w:body {nsdecls('w')}>{paragraph_xml}</w:body>")[0])


# --- body XML --------------------------------------------------------------------


def _clean(text: str) -> str:
    return escape(_INVALID_XML_CHARS.sub("", text))


def _run(text: str, rpr: str = "") -> str:
    """One run; tabs become ``w:tab``."""
    pieces = []
    for index, part in enumerate(text.split("\t")):
        if index:
            pieces.append("<w:tab/>")
        if part:
            pieces.append(f'<w:t xml:space="preserve">{_clean(part)}</w:t>')
    return f"<w:r>{rpr}{''.join(pieces)}</w:r>"


def _paragraph(style_id: str, runs: str = "", ppr_extra: str = "") -> str:
    return f"<w:p><w:pPr><w:pStyle w:val={quoteattr(style_id)}/>{ppr_extra}</w:pPr>{runs}</w:p>"


def _field(instruction: str, result: str = "") -> str:
    return _field_begin(instruction) + (_run(result) if result else "") + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'


def _field_begin(instruction: str) -> str:
    return (
        '<w:r><w:fldChar w:fldCharType="begin" w:dirty="true"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve">{escape(instruction)}</w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
    )


def _lines(text: str) -> list[str]:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _xml(element: BaseOxmlElement) -> str:
    return str(etree.tostring(element, encoding="unicode"))


def member_heading(member: BookMember) -> str:
    """「【代表質問】16番　山田 太郎議員（新政会）」."""
    seat = member.seat if not member.seat.isdigit() else f"{member.seat}番"
    name = member.name if member.name.endswith("議員") else f"{member.name}議員"
    text = f"【{member.question_type}】" if member.question_type else ""
    text += "　".join(part for part in (seat, name) if part)
    return text + (f"（{member.faction}）" if member.faction else "")


def item_heading(item: BookItem) -> str:
    """「1-(2)-①　避難所の女性への配慮について」."""
    return f"{item.item_no}　{item.title}"


class _BookXml:
    """The document body as WordprocessingML text: cover, contents, then the items."""

    def __init__(
        self,
        content: AnswerBookContent,
        style_ids: dict[str, str],
        section_break: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.content = content
        self.progress = progress
        self.ids = style_ids
        self.section_break = section_break
        self.toc: list[tuple[str, str, str]] = []  # (style role, text, bookmark)

    def build(self) -> str:
        body = self._body()
        return self._cover() + self._contents() + body

    def _p(self, role: str, runs: str = "", ppr_extra: str = "") -> str:
        return _paragraph(self.ids[role], runs, ppr_extra)

    def _cover(self) -> str:
        c = self.content
        big = '<w:rPr><w:sz w:val="36"/><w:szCs w:val="36"/></w:rPr>'
        return (
            self._p("cover", _run(c.session_title, big), '<w:spacing w:before="3400"/>')
            + self._p("title", _run(c.title))
            + self._p("cover", _run(to_wareki(c.date)), '<w:spacing w:before="1200"/>')
            + self._p("cover", _run(c.city, big), f'<w:spacing w:before="2400"/>{self.section_break}')
        )

    def _contents(self) -> str:
        """The TOC field; its result lists every heading so the contents show before any refresh."""
        parts = [self._p("toc_heading", _run(TOC_TITLE))]
        begin = _field_begin(TOC_INSTRUCTION)
        for role, text, bookmark in self.toc:
            page = _field(" PAGEREF " + bookmark + " \\h ")
            entry = (
                f'<w:hyperlink w:anchor="{bookmark}" w:history="1">{_run(text)}<w:r><w:tab/></w:r>{page}</w:hyperlink>'
            )
            parts.append(self._p(role, begin + entry))
            begin = ""
        end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        parts.append(self._p("normal", begin + end, self.section_break))
        return "".join(parts)

    def _heading(self, role: str, toc_role: str, text: str, *, page_break: bool = False) -> str:
        bookmark = _TOC_BOOKMARK.format(len(self.toc) + 1)
        self.toc.append((toc_role, text, bookmark))
        number = len(self.toc)
        runs = f'<w:bookmarkStart w:id="{number}" w:name="{bookmark}"/>{_run(text)}<w:bookmarkEnd w:id="{number}"/>'
        return self._p(role, runs, "<w:pageBreakBefore/>" if page_break else "")

    def _text(self, role: str, text: str) -> list[str]:
        return [self._p(role, _run(line)) for line in _lines(text)]

    def _body(self) -> str:
        c = self.content
        parts: list[str] = []
        total, done = sum(len(m.items) for m in c.members), 0
        for index, member in enumerate(c.members):
            parts.append(self._heading("heading1", "toc1", member_heading(member), page_break=index > 0))
            for item in member.items:
                parts.extend(self._item(item))
                done += 1
                if self.progress and (done % PROGRESS_EVERY == 0 or done == total):
                    self.progress(done, total)
        if not c.members:
            parts.append(self._p("text", _run("掲載する答弁はありません。")))
        if c.missing:
            parts.append(self._heading("heading1", "toc1", MISSING_TITLE, page_break=True))
            parts.append(
                self._p("text", _run(f"次の{len(c.missing)}項目は校了していないため、この答弁書には掲載していません。"))
            )
            parts.extend(self._p("text", _run(f"・{entry}")) for entry in c.missing)
        # Marks the page printed as 1, for numbering the contents in the PDF.
        marker = f'<w:bookmarkStart w:id="0" w:name="{BODY_BOOKMARK}"/><w:bookmarkEnd w:id="0"/>'
        parts[0] = parts[0].replace("</w:pPr>", "</w:pPr>" + marker, 1)
        return "".join(parts)

    def _item(self, item: BookItem) -> list[str]:
        parts = [self._heading("heading2", "toc2", item_heading(item))]
        if self.content.is_draft and item.draft_label:
            parts.append(self._p("draft", _run(item.draft_label)))
        parts.append(self._p("label", _run(f"【{LABEL_QUESTION}】")))
        parts.extend(self._text("text", item.question))
        answerer = f"【{LABEL_ANSWERER}】{item.answerer}"
        if item.department:
            answerer += f"　　【{LABEL_DEPARTMENT}】{item.department}"
        parts.append(self._p("label", _run(answerer)))
        parts.append(self._p("label", _run(f"【{LABEL_ANSWER}】")))
        if item.ai_as_is:
            parts.append(self._p("draft", _run(AI_AS_IS_NOTE)))
        parts.extend(self._text("text", item.answer or "（答弁未作成）"))
        if self.content.include_back_data and item.back_data:
            parts.append(self._p("back_data", _run(f"【{LABEL_BACK_DATA}】", "<w:rPr><w:b/></w:rPr>")))
            parts.extend(self._text("back_data", item.back_data))
        return parts
