"""Laying a Word book out with headless LibreOffice: the contents' page numbers, and the PDF.

A table of contents shows the page numbers cached in the file, which nothing but
a layout engine can know. LibreOffice lays the book out, poppler's ``pdfinfo``
reads on which page each heading landed, and the numbers are written into the
.docx (:func:`number_contents`); the same layout gives the PDF
(:func:`convert_to_pdf`). Without LibreOffice both return ``None`` and the book
stays as written, asking Word to update its fields.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from docx.oxml.ns import qn
from lxml import etree

from councilbot.adapters.word.writer import BODY_BOOKMARK
from councilbot.errors import CouncilbotError
from councilbot.fsutil import atomic_write_bytes


def convert_to_pdf(docx_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path | None:
    """Render ``docx_path`` to PDF in ``out_dir`` with headless LibreOffice, the contents numbered.

    Returns the PDF's path, or ``None`` when LibreOffice is not installed. The
    .docx at ``docx_path`` is not modified (see :func:`number_contents` for that).
    """
    soffice = find_soffice()
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory(prefix="councilbot-pdf-") as work_dir:
        _numbered, pdf = _lay_out_numbered(soffice, Path(work_dir), Path(docx_path))
        assert pdf is not None
        return _place_pdf(pdf, Path(out_dir), Path(docx_path).stem)


def number_contents(docx_path: str | os.PathLike[str], *, pdf_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Write the page number of every contents entry into the .docx itself; also save its PDF when ``pdf_dir`` is given.

    A table of contents shows the results cached in the file: LibreOffice never
    recomputes them on opening, and Word does only when asked (``updateFields``
    makes it prompt; a ``dirty`` field is refreshed by hand). So the book is laid
    out with LibreOffice, each PAGEREF result is set to the page its heading
    landed on, and the prompt and dirty marks are dropped: both programs then
    open the book with the numbers in place. Word lays out with its own fonts and
    may move a heading by a page in a long book; updating the contents there
    corrects it. Returns the PDF's path (or ``None``); without LibreOffice the
    file is left as written, asking Word to update its fields.
    """
    soffice = find_soffice()
    if soffice is None:
        return None
    source = Path(docx_path)
    with tempfile.TemporaryDirectory(prefix="councilbot-toc-") as work_dir:
        numbered, pdf = _lay_out_numbered(soffice, Path(work_dir), source, want_pdf=pdf_dir is not None)
        if numbered != source:
            atomic_write_bytes(source, numbered.read_bytes())
        return _place_pdf(pdf, Path(pdf_dir), source.stem) if pdf is not None and pdf_dir is not None else None


def _lay_out_numbered(soffice: str, work: Path, source: Path, *, want_pdf: bool = True) -> tuple[Path, Path | None]:
    """(a copy of ``source`` whose contents carry the pages LibreOffice lays its headings on, that copy's PDF).

    The book is laid out once to learn on which page each heading lands (the
    PDF's named destinations, read with poppler's ``pdfinfo``) and the numbers
    are written into a copy. The body is its own section numbered from 1, so the
    numbers cannot move it: only the PDF needs the copy laid out again (a third
    pass follows should the layout still change). A book already numbered right
    takes one pass. Without ``pdfinfo`` the result is ``source`` and its PDF.
    """
    pdf = _soffice_to_pdf(soffice, work, source, work / "pass0")
    pages = _heading_pages(pdf)
    current = source
    for attempt in range(1, 3):
        if not pages or _cached_pages(current) == pages:
            break
        filled = work / f"pass{attempt}" / source.name
        _fill_toc_page_numbers(current, filled, pages)
        current = filled
        if not want_pdf:
            return current, None
        pdf = _soffice_to_pdf(soffice, work, filled, filled.parent)
        laid_out = _heading_pages(pdf)
        if laid_out == pages:
            break
        pages = laid_out
    return current, pdf


def _place_pdf(pdf: Path, out_dir: Path, stem: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stem}.pdf"
    staging = out_dir / f".{target.name}.tmp"
    shutil.copyfile(pdf, staging)
    os.replace(staging, target)
    return target


def _soffice_to_pdf(soffice: str, work: Path, source: Path, out_dir: Path) -> Path:
    """One LibreOffice run; bookmarks are exported as named destinations."""
    # A private profile: a LibreOffice already open on the same account would
    # otherwise take the request over and produce nothing.
    profile = (work / "profile").as_uri()
    export = 'pdf:writer_pdf_Export:{"ExportBookmarksToPDFDestination":{"type":"boolean","value":"true"}}'
    command = [
        soffice,
        f"-env:UserInstallation={profile}",
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--convert-to",
        export,
        "--outdir",
        str(out_dir),
        str(source),
    ]
    try:
        result = subprocess.run(command, capture_output=True, timeout=_PDF_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CouncilbotError(
            f"LibreOfficeによる「{source.name}」のPDF変換が{_PDF_TIMEOUT_SECONDS}秒以内に終わりませんでした。"
        ) from exc
    produced = out_dir / f"{source.stem}.pdf"
    if result.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
        lines = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
        reason = f"（{lines[-1][:200]}）" if lines else ""
        raise CouncilbotError(f"LibreOfficeで「{source.name}」をPDFに変換できませんでした{reason}。")
    return produced


_DESTINATION_LINE = re.compile(r'^\s*(\d+)\s+\[.*\]\s+"(?:_|5F)(Toc\d+|CbBody)"\s*$')


def _heading_pages(pdf: Path) -> dict[str, str]:
    """Bookmark → printed page number (the body's first page is 1); {} without pdfinfo."""
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        return {}
    result = subprocess.run([pdfinfo, "-dests", str(pdf)], capture_output=True, text=True, check=False)
    physical: dict[str, int] = {}
    for line in result.stdout.splitlines():
        match = _DESTINATION_LINE.match(line)
        if match:
            physical["_" + match.group(2)] = int(match.group(1))
    body_start = physical.pop(BODY_BOOKMARK, None)
    if body_start is None:
        return {}
    return {name: str(page - body_start + 1) for name, page in physical.items()}


_PAGEREF = re.compile(r"\s*PAGEREF\s+(\S+)")
_CONTENTS_FIELD = re.compile(r"\s*(PAGEREF|TOC)\s")


def _cached_pages(docx_path: Path) -> dict[str, str]:
    """Bookmark → the page number cached in the file's PAGEREF results."""
    with zipfile.ZipFile(docx_path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    cached = {}
    for instr in root.iter(qn("w:instrText")):
        match = _PAGEREF.match(instr.text or "")
        if match:
            runs = _field_result_runs(instr.getparent())
            cached[match.group(1)] = "".join(t.text or "" for run in runs for t in run.iter(qn("w:t")))
    return cached


def _fill_toc_page_numbers(source: Path, target: Path, pages: dict[str, str]) -> None:
    """Copy ``source`` to ``target`` with each PAGEREF result set from ``pages``, nothing left to update.

    The contents fields lose their ``dirty`` mark and the settings their
    ``updateFields``: the cached numbers are right, so Word need not ask.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data)
                for instr in root.iter(qn("w:instrText")):
                    if not _CONTENTS_FIELD.match(instr.text or ""):
                        continue
                    begin = instr.getparent().getprevious()
                    mark = begin.find(qn("w:fldChar")) if begin is not None else None
                    if mark is not None and mark.get(qn("w:fldCharType")) == "begin":
                        mark.attrib.pop(qn("w:dirty"), None)
                    match = _PAGEREF.match(instr.text or "")
                    if match and match.group(1) in pages:
                        _set_field_result(instr.getparent(), pages[match.group(1)])
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            elif info.filename == "word/settings.xml":
                root = etree.fromstring(data)
                for update in root.findall(qn("w:updateFields")):
                    root.remove(update)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            zout.writestr(info, data)


def _field_separate(instr_run: etree._Element) -> etree._Element | None:
    """The run holding the ``separate`` mark of the field whose instruction is in ``instr_run``, or None."""
    separate = instr_run.getnext()
    while separate is not None and separate.find(qn("w:fldChar")) is None:
        separate = separate.getnext()
    if separate is None or separate.find(qn("w:fldChar")).get(qn("w:fldCharType")) != "separate":
        return None
    return separate


def _field_result_runs(instr_run: etree._Element) -> list[etree._Element]:
    """The runs of the field's result: after its ``separate`` mark, up to its next field character."""
    runs = []
    separate = _field_separate(instr_run)
    following = separate.getnext() if separate is not None else None
    while following is not None and following.find(qn("w:fldChar")) is None:
        runs.append(following)
        following = following.getnext()
    return runs


def _set_field_result(instr_run: etree._Element, text: str) -> None:
    """Replace the result of the field whose instruction is in ``instr_run``."""
    separate = _field_separate(instr_run)
    if separate is None:
        return
    for run in _field_result_runs(instr_run):
        run.getparent().remove(run)
    result = etree.Element(qn("w:r"))
    separate.addnext(result)
    etree.SubElement(result, qn("w:t")).text = text


_PDF_TIMEOUT_SECONDS = 600
_SOFFICE_CANDIDATES = (
    "/usr/bin/soffice",
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)


def find_soffice() -> str | None:
    """Path of LibreOffice's ``soffice``, or ``None`` when it is not installed."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    return next((c for c in _SOFFICE_CANDIDATES if Path(c).is_file()), None)
