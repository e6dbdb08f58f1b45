"""Word (.docx) answer books: writing (writer.py), reading back (reader.py), and the contents'
page numbers and PDF through LibreOffice (libreoffice.py). The services reach them through
``DocxAnswerBooks`` and ``DocxReader``, the ports of services/ports.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from councilbot.adapters.word.libreoffice import convert_to_pdf, number_contents
from councilbot.adapters.word.reader import read_answer_book, read_docx_text, validate_docx
from councilbot.adapters.word.writer import render_answer_book
from councilbot.domain.book import AnswerBookContent
from councilbot.services.ports import AnswerBookRenderer, WordReader

__all__ = ["DocxAnswerBooks", "DocxReader", "convert_to_pdf", "number_contents", "render_answer_book"]


class DocxAnswerBooks(AnswerBookRenderer):
    def render(
        self,
        content: AnswerBookContent,
        path: Path,
        *,
        template: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        return render_answer_book(content, path, template=template, progress=progress)

    def number_contents(self, path: Path, *, pdf_dir: Path | None = None) -> Path | None:
        return number_contents(path, pdf_dir=pdf_dir)


class DocxReader(WordReader):
    def validate(self, path: Path) -> None:
        validate_docx(path)

    def text_lines(self, path: Path) -> list[str]:
        return read_docx_text(path)

    def answer_book_records(self, path: Path) -> list[dict[str, Any]]:
        return read_answer_book(path)
