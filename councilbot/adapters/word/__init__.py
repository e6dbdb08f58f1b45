"""Word (.docx) answer books: writing, reading back, and PDF through LibreOffice."""

from councilbot.adapters.word.writer import convert_to_pdf, number_contents, render_answer_book

__all__ = ["convert_to_pdf", "number_contents", "render_answer_book"]
