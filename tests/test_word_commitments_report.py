"""「議会答弁の進捗状況」 as LibreOffice lays it out: A4 landscape, the published columns side by side."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

from councilbot.adapters.word import convert_to_pdf
from councilbot.adapters.word.commitments_report import render_commitments_report
from councilbot.services.commitments import LedgerRow
from tests.test_word_render import needs_libreoffice, pages

ROW = LedgerRow(
    id=156,
    ref="SKG-1-0100",
    session="令和7年9月定例会",
    answered=dt.date(2025, 9, 9),
    member="松本 陽子",
    division="高齢者支援課",
    title="補聴器購入費助成制度の創設について",
    question="令和5年12月定例会で我が会派の議員が補聴器購入費助成を求めたが、市は国の研究を注視するとの答弁であった。改めて制度の創設を求めるが、いかがか。",
    statement="本年度中に調査結果を取りまとめる予定",
    strength="実施",
    timing="本年度中",
    due_end=dt.date(2026, 3, 31),
    status="実施済",
    note="令和8年3月に先行自治体の調査結果を取りまとめ、策定委員会に報告した。",
    overdue=False,
)


@needs_libreoffice
def test_the_report_is_a_landscape_table_with_the_published_columns(tmp_path) -> None:
    docx_path = render_commitments_report(
        [ROW], tmp_path / "進捗状況.docx", on=dt.date(2026, 12, 9), scope="高齢者支援課"
    )
    pdf = convert_to_pdf(docx_path, tmp_path / "pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert width > height  # A4 landscape
    (page,) = pages(pdf)
    assert "議会答弁の進捗状況" in page and "令和8年12月9日現在" in page
    header = next(line for line in page.splitlines() if "質問要旨" in line)
    assert [header.index(c) for c in ("議員", "件名", "質問要旨", "答弁要旨", "進捗状況", "担当課")] == sorted(
        header.index(c) for c in ("議員", "件名", "質問要旨", "答弁要旨", "進捗状況", "担当課")
    )
    assert "【実施済】" in page and "高齢者支援課" in page and "本年度中に調査結果を取りまとめる予定" in page
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Mincho|明朝|IPAMincho", fonts)
