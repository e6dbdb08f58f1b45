"""「議会答弁の進捗状況」: the commitments ledger as the report cities publish each year.

One table per session (定例会), one row per commitment, in the columns such
reports use: 質問要旨 / 答弁要旨 / 進捗状況 / 担当課 (with the member and the
subject). A4 landscape, Mincho body and Gothic headings set for East Asian text.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.styles.style import CharacterStyle
from docx.text.run import Run

from councilbot.domain.era import to_wareki
from councilbot.fsutil import atomic_write_bytes
from councilbot.services.commitments import LedgerRow

TITLE = "議会答弁の進捗状況"
COLUMNS = ("議員", "件名", "質問要旨", "答弁要旨", "進捗状況", "担当課")
WIDTHS_MM = (22, 32, 62, 70, 56, 25)
BODY_FONTS = ("Century", "ＭＳ 明朝")
HEADING_FONTS = ("Arial", "ＭＳ ゴシック")
QUESTION_CHARS = 120  # 質問要旨: the question's opening, as a summary


def _fonts(run_or_style: Run | CharacterStyle, fonts: tuple[str, str]) -> None:
    run_or_style.font.name = fonts[0]
    rpr = run_or_style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr in ("w:ascii", "w:hAnsi"):
        rfonts.set(qn(attr), fonts[0])
    rfonts.set(qn("w:eastAsia"), fonts[1])


def _summary(text: str, limit: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _progress(row: LedgerRow) -> str:
    lines = [f"【{row.status}】" + ("（期限超過）" if row.overdue else "")]
    if row.note:
        lines.append(row.note)
    return "\n".join(lines)


def _answer_summary(row: LedgerRow) -> str:
    due = (
        f"（{row.strength}・期限 {to_wareki(row.due_end)}）"
        if row.due_end
        else f"（{row.strength}" + (f"・{row.timing}）" if row.timing else "）")
    )
    return f"{row.statement}{due}"


def render_commitments_report(
    rows: Sequence[LedgerRow], path: str | os.PathLike[str], *, on: dt.date, scope: str = ""
) -> Path:
    """Write the report to ``path`` atomically; ``scope`` names the filters (「危機管理課」), if any."""
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    _fonts(document.styles["Normal"], BODY_FONTS)
    document.styles["Normal"].font.size = Pt(9)
    for name in ("Title", "Heading 1"):
        _fonts(document.styles[name], HEADING_FONTS)

    document.add_heading(TITLE, level=0)
    lead = f"{to_wareki(on)}現在" + (f"　対象: {scope}" if scope else "") + f"　{len(rows)}件"
    document.add_paragraph(lead)
    if not rows:
        document.add_paragraph("該当する答弁の約束はありません。")
    for session, group in groupby(rows, key=lambda r: r.session or "会期不明"):
        document.add_heading(session, level=1)
        table = document.add_table(rows=1, cols=len(COLUMNS))
        table.style = "Table Grid"
        table.autofit = False
        for column, width in zip(table.columns, WIDTHS_MM):
            column.width = Mm(width)  # the grid LibreOffice and Word lay out by
        for cell, label, width in zip(table.rows[0].cells, COLUMNS, WIDTHS_MM):
            cell.text = label
            cell.width = Mm(width)
            for run in cell.paragraphs[0].runs:
                run.bold = True
                _fonts(run, HEADING_FONTS)
        for row in group:
            values = (
                row.member,
                row.title,
                _summary(row.question, QUESTION_CHARS),
                _answer_summary(row),
                _progress(row),
                row.division,
            )
            cells = table.add_row().cells
            for cell, value, width in zip(cells, values, WIDTHS_MM):
                cell.text = value
                cell.width = Mm(width)
    buffer = io.BytesIO()
    document.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())
