"""Reading Word files: past answer books into archive records, notices into lines.

Every file is checked before it is opened (:func:`validate_docx`): what a city
employee uploads may be a renamed .xls, a password-protected book, a huge file
or a zip bomb, and each gets one clear Japanese message and nothing imported.

The answer-book reader understands our own layout (see ``writer``) and the
variants a city's older books tend to have: labels as bold paragraphs or
bracketed words rather than styles (「質問」「答弁」「答弁者：市長」), a table
with 質問/答弁 rows, numbers typed as 「１－（２）－①」, and headings that give
only the sub-number 「（２）」 under a major item 「１」.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
from docx.document import Document
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.text.paragraph import Paragraph

from councilbot.domain.book import AI_AS_IS_NOTE
from councilbot.domain.era import parse_wareki
from councilbot.domain.notice import find_session_name, narrow, parse_member_header
from councilbot.domain.numbering import ItemNumber
from councilbot.errors import CouncilbotError, InvalidInput

MAX_DOCX_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # a .docx compresses ~5-20x; bombs compress 1000x
MAX_ZIP_ENTRIES = 5000
# What the XML parts may unpack to. Parsing costs memory and time by elements, not by the zip's size:
# 199 MB of XML within every zip limit kept a reader busy for over ten minutes at 3.5 GB. A
# 1,000-page answer book is ~10 MB of XML with ~300,000 tags.
MAX_XML_BYTES = 40 * 1024 * 1024
MAX_XML_TAGS = 1_500_000
# Time allowed for turning the parsed document into lines, the last guard should the above be generous.
READ_SECONDS = 60.0
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # CFB: encrypted .docx or old .doc


def validate_docx(path: str | os.PathLike[str]) -> Document:
    """Check that ``path`` is a readable, non-empty .docx and open it.

    Raises ``InvalidInput`` with one Japanese sentence otherwise. The zip
    directory is inspected before anything is decompressed.
    """
    file = Path(path)
    name = file.name
    if not file.is_file():
        raise InvalidInput(f"ファイル「{name}」が見つかりません。")
    size = file.stat().st_size
    if size == 0:
        raise InvalidInput(f"ファイル「{name}」は空です（0バイト）。")
    if size > MAX_DOCX_BYTES:
        raise InvalidInput(
            f"ファイル「{name}」は{size / 1024 / 1024:.1f}MBあり、上限の{MAX_DOCX_BYTES // 1024 // 1024}MBを超えているため読み込めません。"
        )
    with open(file, "rb") as fh:
        head = fh.read(len(_OLE_SIGNATURE))
    if head == _OLE_SIGNATURE:
        raise InvalidInput(
            f"ファイル「{name}」はパスワードで保護されているか、旧形式（.doc）のため読み込めません。"
            "パスワードを解除し、Word文書（.docx）として保存し直してください。"
        )
    not_docx = InvalidInput(f"ファイル「{name}」はWord文書（.docx）ではないため読み込めません。")
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            _check_zip_entries(name, entries)
            if "word/document.xml" not in {e.filename for e in entries}:
                raise not_docx
            _check_xml_parts(name, archive, entries)
    except zipfile.BadZipFile as exc:
        raise not_docx from exc
    try:
        document = docx.Document(str(file))
    except CouncilbotError:
        raise
    except Exception as exc:  # python-docx raises many kinds on a broken package
        raise not_docx from exc
    if not any(line.strip() for line in _document_lines(document, name)):
        raise InvalidInput(f"ファイル「{name}」には本文がありません。")
    return document


def _check_zip_entries(name: str, entries: list[zipfile.ZipInfo]) -> None:
    bomb = InvalidInput(f"ファイル「{name}」は展開後の容量が異常に大きいため、安全のため読み込みを中止しました。")
    if len(entries) > MAX_ZIP_ENTRIES:
        raise bomb
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise InvalidInput(
            f"ファイル「{name}」は暗号化されているため読み込めません。パスワードを解除してから取り込んでください。"
        )
    if sum(entry.file_size for entry in entries) > MAX_UNCOMPRESSED_BYTES:
        raise bomb
    for entry in entries:
        if entry.file_size > 1024 * 1024 and entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1):
            raise bomb


def _too_much(name: str) -> InvalidInput:
    return InvalidInput(
        f"ファイル「{name}」は文書の中身（XML）が多すぎるため、安全のため読み込みを中止しました。"
        "文書をいくつかに分けてから取り込んでください。"
    )


def _check_xml_parts(name: str, archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> None:
    """Bound the XML by its unpacked size and by its tags, counted while streaming, before any is parsed.

    The sizes are the directory's, but zipfile never yields more than an entry
    declares, so a lying directory cannot smuggle in more.
    """
    parts = [e for e in entries if e.filename.endswith((".xml", ".rels"))]
    if sum(e.file_size for e in parts) > MAX_XML_BYTES:
        raise _too_much(name)
    tags = 0
    for entry in parts:
        with archive.open(entry) as stream:
            while chunk := stream.read(1024 * 1024):
                tags += chunk.count(b"<")
                if tags > MAX_XML_TAGS:
                    raise _too_much(name)


def read_docx_text(path: str | os.PathLike[str]) -> list[str]:
    """The document's text as lines: paragraphs and table cells in reading order.

    Empty paragraphs are kept so that a line number points at the paragraph.
    """
    return _document_lines(validate_docx(path), Path(path).name)


def _document_lines(document: Document, name: str) -> list[str]:
    return [line for block in _blocks(document, name) for line in block.text.split("\n")]


# --- blocks in reading order ---------------------------------------------------------


@dataclass
class _Block:
    """One paragraph, with what the reader needs to know about its looks."""

    text: str
    heading: bool  # heading style or outline level
    bold: bool  # every run with text is bold
    toc: bool  # part of a table of contents


def _blocks(document: Document, name: str) -> list[_Block]:
    blocks: list[_Block] = []
    style_names = {s.style_id: s.name or "" for s in document.styles}
    style_info = _StyleInfo(document)
    deadline = time.monotonic() + READ_SECONDS
    try:
        _collect(document.element.body, document, style_names, style_info, blocks, in_toc=False, deadline=deadline)
    except _TookTooLong:
        raise InvalidInput(
            f"ファイル「{name}」の読み取りが{READ_SECONDS:.0f}秒を超えたため、安全のため中止しました。"
            "文書をいくつかに分けてから取り込んでください。"
        ) from None
    return blocks


class _TookTooLong(Exception):
    """Reading ran past its deadline (turned into a message naming the file by ``_blocks``)."""


class _StyleInfo:
    """Boldness and outline level of paragraph styles, following ``basedOn``."""

    def __init__(self, document: Document) -> None:
        self._styles = {s.style_id: s.element for s in document.styles}
        self._cache: dict[str | None, tuple[bool, bool]] = {}

    def bold_and_outline(self, style_id: str | None) -> tuple[bool, bool]:
        if style_id not in self._cache:
            bold = outline = False
            seen = set()
            current = self._styles.get(style_id)
            while current is not None and current.get(qn("w:styleId")) not in seen:
                seen.add(current.get(qn("w:styleId")))
                b = current.find(f"{qn('w:rPr')}/{qn('w:b')}")
                if b is not None and not bold:
                    bold = b.get(qn("w:val"), "true") not in ("0", "false")
                level = current.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
                if level is not None and not outline:
                    outline = level.get(qn("w:val")) not in (None, "9")
                based = current.find(qn("w:basedOn"))
                current = self._styles.get(based.get(qn("w:val"))) if based is not None else None
            self._cache[style_id] = (bold, outline)
        return self._cache[style_id]


def _collect(
    container: BaseOxmlElement,
    document: Document,
    style_names: dict[str, str],
    style_info: _StyleInfo,
    blocks: list[_Block],
    *,
    in_toc: bool,
    deadline: float,
) -> None:
    for child in container.iterchildren():
        if time.monotonic() >= deadline:
            raise _TookTooLong()
        tag = child.tag
        if tag == qn("w:p"):
            blocks.append(_paragraph_block(child, document, style_names, style_info, in_toc))
        elif tag == qn("w:tbl"):
            # Raw w:tc elements: a merged cell is one element (python-docx's row.cells repeats it).
            for row in child.iterchildren(qn("w:tr")):
                for cell in row.iterchildren(qn("w:tc")):
                    _collect(cell, document, style_names, style_info, blocks, in_toc=in_toc, deadline=deadline)
        elif tag == qn("w:sdt"):
            gallery = child.find(f"{qn('w:sdtPr')}/{qn('w:docPartObj')}/{qn('w:docPartGallery')}")
            is_toc = gallery is not None and "Table of Contents" in (gallery.get(qn("w:val")) or "")
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                _collect(content, document, style_names, style_info, blocks, in_toc=in_toc or is_toc, deadline=deadline)


def _paragraph_block(
    p: BaseOxmlElement, document: Document, style_names: dict[str, str], style_info: _StyleInfo, in_toc: bool
) -> _Block:
    paragraph = Paragraph(p, document._body)
    style_el = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    style_id = style_el.get(qn("w:val")) if style_el is not None else None
    style = style_names.get(style_id, "") if style_id else ""
    style_bold, style_outline = style_info.bold_and_outline(style_id)
    own_level = p.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    outline = style_outline or (own_level is not None and own_level.get(qn("w:val")) != "9")
    runs = [r for r in paragraph.runs if r.text.strip()]
    bold = bool(runs) and all(r.bold if r.bold is not None else style_bold for r in runs)
    lowered = style.lower()
    heading = outline or lowered.startswith(("heading", "見出し", "title"))
    toc = in_toc or lowered.startswith(("toc", "目次")) or lowered == "contents"
    return _Block(paragraph.text, heading, bold, toc)


# --- answer books ----------------------------------------------------------------------

_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㉒㉓㉔㉕㉖㉗㉘㉙㉚"
_ITEM = re.compile(
    rf"^(?P<no>\d{{1,2}}(?:-?\(\d{{1,2}}\)(?:-?(?:[{_CIRCLED}]|\d{{1,2}}))?)?"
    rf"|\(\d{{1,2}}\)|[{_CIRCLED}])(?:[\s　.、]+)(?P<title>\S.*)$"
)
_TOC_PAGE = re.compile(r"(?:\t|[.…‥・･]{2,})[\s.…‥・･]*\d+$")
_LABELS = {
    "質問要旨": "question",
    "質問内容": "question",
    "質問": "question",
    "要旨": "question",
    "答弁者": "answerer",
    "回答者": "answerer",
    "答弁内容": "answer",
    "答弁": "answer",
    "回答": "answer",
    "担当課": "department",
    "担当部署": "department",
    "所管課": "department",
    "担当": "department",
    "バックデータ": "back_data",
    "参考資料": "back_data",
    "補足資料": "back_data",
}
_LABEL_WORDS = "|".join(sorted(_LABELS, key=len, reverse=True))
_BRACKETED_LABEL = re.compile(rf"[【\[〔■◆●◎<＜《]\s*({_LABEL_WORDS})\s*[】\]〕>＞》]?\s*[:：]?")
_PLAIN_LABEL = re.compile(rf"^({_LABEL_WORDS})\s*(?:[:：]\s*(?P<value>.*)|$)")
_DRAFT_LABEL = re.compile(r"^案[（(].*[)）]$")


@dataclass
class _Item:
    number: str
    title: str
    member: dict[str, str]
    blocks: dict[str, list[str]] = field(default_factory=dict)
    draft: bool = False

    def text(self, key: str) -> str:
        lines = list(self.blocks.get(key, []))
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)


def read_answer_book(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Past answer book → archive records (SPEC §4.3), in the book's order.

    Unfinished answers marked 案 (a review-meeting book) are left out: the
    archive holds finalised answers. Each record's ``ref`` is derived from the
    session, question type, seat (or name) and item number, so importing the same
    book again updates the records rather than adding copies. Unknown values are
    ``""`` (``date`` is ``None``).
    """
    document = validate_docx(path)
    parser = _BookParser()
    for block in _blocks(document, Path(path).name):
        parser.feed(block)
    records = parser.records()
    if not records:
        raise InvalidInput(
            f"ファイル「{Path(path).name}」から答弁書の項目を読み取れませんでした。"
            "項目番号（例：1-(2)-①）と「質問」「答弁」の見出しがあるか確認してください。"
        )
    return records


class _BookParser:
    def __init__(self) -> None:
        self.session = ""
        self.date: str | None = None
        self.member: dict[str, str] = {"question_type": "", "member": "", "seat": "", "faction": ""}
        self.seen_member = False
        self.items: list[_Item] = []
        self.item: _Item | None = None
        self.block: str | None = None
        self.major: int | None = None
        self.sub: int | None = None

    def feed(self, block: _Block) -> None:
        for raw_line in block.text.split("\n"):
            self._line(raw_line, block)

    def _line(self, raw: str, block: _Block) -> None:
        text = raw.strip()
        if not text:
            if self.item is not None and self.block:
                self.item.blocks.setdefault(self.block, []).append("")
            return
        if not self.session:
            self.session = find_session_name(text) or ""
        if self.date is None and not self.seen_member:
            self.date = _iso_date(text)
        if block.toc:
            return
        emphasised = block.heading or block.bold
        if (member := _member_header(text, emphasised)) is not None:
            self._close_item()
            self.member, self.seen_member = member, True
            self.major = self.sub = None
            return
        if (number := self._item_number(text, emphasised)) is not None:
            self._close_item()
            number_text, title = number
            self.item = _Item(number_text, _TOC_PAGE.sub("", title).strip(), dict(self.member))
            return
        if block.heading and _label(text) is None:
            # Another heading (e.g. 「未校了の項目」): whatever follows is not an item.
            self._close_item()
            return
        if self.item is None:
            return
        if _DRAFT_LABEL.match(text) and self.block is None:
            self.item.draft = True
            return
        if text == AI_AS_IS_NOTE:
            return  # our own label on an AI answer used as is: not part of the answer
        labelled = _label(text)
        if labelled is not None:
            for key, value in labelled:
                self.block = key
                if value:
                    self.item.blocks.setdefault(key, []).append(value)
            return
        if self.block:
            self.item.blocks.setdefault(self.block, []).append(raw.rstrip())

    def _item_number(self, text: str, emphasised: bool) -> tuple[str, str] | None:
        """(canonical number, title) when ``text`` heads an item.

        Plain paragraphs count only with a full number such as 「1-(2)」: answers
        themselves contain 「1　…」 and 「（1）…」 enumerations.
        """
        narrowed = narrow(text)
        match = _ITEM.match(narrowed)
        if not match:
            return None
        raw_no = match.group("no")
        try:
            if raw_no.startswith("("):
                if self.major is None or not emphasised:
                    return None
                number = ItemNumber(self.major, int(raw_no[1:-1]))
            elif raw_no in _CIRCLED:
                if self.major is None or self.sub is None or not emphasised:
                    return None
                number = ItemNumber(self.major, self.sub, _CIRCLED.index(raw_no) + 1)
            else:
                number = ItemNumber.parse(raw_no)
                if number.sub is None and not emphasised:
                    return None
        except InvalidInput:
            return None
        self.major, self.sub = number.major, number.sub
        return number.format(), text[match.start("title") :].strip()  # translate keeps positions

    def _close_item(self) -> None:
        if self.item is not None:
            self.items.append(self.item)
        self.item, self.block = None, None

    def records(self) -> list[dict[str, Any]]:
        self._close_item()
        records = []
        for item in self.items:
            question, answer = item.text("question"), item.text("answer")
            if item.draft or not question.strip() or not answer.strip():
                continue
            member = item.member
            who = member["seat"] or member["member"]
            records.append(
                {
                    "ref": f"docx:{self.session}:{member['question_type']}:{who}:{item.number}",
                    "session": self.session,
                    "date": self.date,
                    "question_type": member["question_type"],
                    "member": member["member"],
                    "seat": member["seat"],
                    "faction": member["faction"],
                    "item_no": item.number,
                    "title": item.title,
                    "question": question,
                    "answer": answer,
                    "answerer": item.text("answerer").replace("\n", "").strip(),
                    "department": item.text("department").replace("\n", "").strip(),
                    "back_data": item.text("back_data"),
                }
            )
        return records


def _iso_date(text: str) -> str | None:
    if "日" not in text:
        return None
    try:
        year, month, day = parse_wareki(text)
    except InvalidInput:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if month and day else None


def _member_header(text: str, emphasised: bool) -> dict[str, str] | None:
    header = parse_member_header(text)
    if header is None or not (header.explicit or emphasised):
        return None
    return {
        "question_type": header.question_type,
        "member": header.name,
        "seat": header.seat,
        "faction": header.faction,
    }


def _label(text: str) -> list[tuple[str, str]] | None:
    """「【答弁者】市長　【担当課】企画課」 → [("answerer", "市長"), ("department", "企画課")]."""
    flat = unicodedata.normalize("NFKC", text).strip()
    bracketed = list(_BRACKETED_LABEL.finditer(flat))
    if bracketed and bracketed[0].start() == 0:
        found = []
        for index, match in enumerate(bracketed):
            end = bracketed[index + 1].start() if index + 1 < len(bracketed) else len(flat)
            found.append((_LABELS[match.group(1)], _original_span(text, flat, match.end(), end)))
        return found
    plain = _PLAIN_LABEL.match(flat)
    if plain:
        return [(_LABELS[plain.group(1)], _original_span(text, flat, plain.end(1), len(flat)).lstrip(":： "))]
    return None


def _original_span(text: str, flat: str, start: int, end: int) -> str:
    """The value part, taken from the original text when normalisation kept its length."""
    source = text.strip() if len(text.strip()) == len(flat) else flat
    return source[start:end].strip(" 　:：")
