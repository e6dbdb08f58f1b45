"""Importing council minutes (会議録) with ``archive import``: records as stored, searchable at once,
idempotent, all-or-nothing per file, --dry-run and --json, .docx bodies, refusals."""

from __future__ import annotations

import json

import docx
import pytest
from sqlalchemy import func, select

from councilbot.services.minutes_import import import_minutes
from councilbot.services.search import search_archive
from councilbot.storage.db import session_scope
from councilbot.storage.models import PastAnswer
from tests.test_minutes_parser import NOISY

STORED = (
    "ref",
    "session_name",
    "date",
    "question_type",
    "member",
    "seat",
    "faction",
    "item_no",
    "title",
    "question",
    "answer",
    "department",
    "answerer",
)


@pytest.fixture
def run(org, cli):
    return cli(org)


@pytest.fixture
def minutes(tmp_path):
    path = tmp_path / "会議録_令和6年6月定例会_第2号.txt"
    path.write_text(NOISY, encoding="utf-8")
    return path


def rows(settings) -> list[tuple]:
    with session_scope(settings) as db:
        return [tuple(getattr(r, k) for k in STORED) for r in db.scalars(select(PastAnswer).order_by(PastAnswer.ref))]


def test_minutes_become_records_searchable_at_once(org, run, minutes):
    result = run("archive", "import", str(minutes))
    assert result.returncode == 0, result.stderr
    assert "答弁 3件（新規 3件、更新 0件）" in result.stdout
    stored = {r[-1]: dict(zip(STORED, r)) for r in rows(org)}
    mayor, education, general = stored["市長"], stored["教育長"], stored["総務部長"]
    assert (mayor["member"], mayor["seat"], mayor["faction"]) == (
        "山田 太郎",
        "16番",
        "新政会",
    )  # the org file's member
    assert (mayor["session_name"], str(mayor["date"]), mayor["question_type"]) == (
        "令和6年6月定例会",
        "2024-06-12",
        "一般質問",
    )
    assert (mayor["title"], mayor["item_no"]) == ("避難所の運営について", "1")
    assert education["department"] == "学校教育課"  # 教育長: the only division of 教育部
    assert general["department"] == "危機管理課"  # 総務部長 on 備蓄: chosen among 総務部's divisions by duties
    with session_scope(org) as db:
        hits = search_archive(db, org, "備蓄")
    assert [h.ref for h in hits] == [general["ref"]]


def test_importing_the_same_minutes_again_changes_nothing(org, run, minutes):
    assert run("archive", "import", str(minutes)).returncode == 0
    before = rows(org)
    again = run("archive", "import", str(minutes))
    assert again.returncode == 0 and "新規 0件" in again.stdout
    assert rows(org) == before and len(before) == 3


def test_dry_run_json_shows_the_records_and_writes_nothing(org, run, minutes):
    result = run("archive", "import", str(minutes), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= {"records", "skipped", "counts"}
    assert [r["answerer"] for r in document["records"]] == ["市長", "教育長", "総務部長"]
    assert document["records"][0]["member"] == "山田 太郎"
    assert all(set(s) == {"file", "line", "reason"} for s in document["skipped"])
    assert {"line": 11, "reason": "議長の発言（議事進行）です。"} in [
        {k: s[k] for k in ("line", "reason")} for s in document["skipped"]
    ]
    assert document["counts"]["answers"] == 3 and document["counts"]["created"] == 0
    assert rows(org) == []
    with session_scope(org) as db:
        assert search_archive(db, org, "備蓄") == []


def test_json_records_are_the_records_as_stored(org, run, minutes):
    result = run("archive", "import", str(minutes), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    stored = {r[0]: dict(zip(STORED, r)) for r in rows(org)}
    assert document["counts"]["created"] == 3
    for record in document["records"]:
        row = stored[record["ref"]]
        assert record["session"] == row["session_name"] and record["date"] == str(row["date"])
        for key in ("member", "seat", "answerer", "question", "answer", "title", "department"):
            assert record.get(key) == row[key]


def test_a_bad_answer_refuses_the_whole_file(org, run, tmp_path):
    path = tmp_path / "長すぎる答弁.txt"
    path.write_text(NOISY.replace("備蓄につきましては、", "備蓄につきましては、" + "あ" * 50_001), encoding="utf-8")
    result = run("archive", "import", str(path))
    assert result.returncode == 1
    # How far the check got, then the refusal, which names the line; no "stopped, run it again" line: the
    # file is refused, not interrupted.
    progress_line, refusal = result.stderr.splitlines()
    assert progress_line.startswith(f"{path.name}: 答弁を確認中 1/3件")
    assert "34行目" in refusal and "何も取り込んでいません" in refusal
    assert rows(org) == []  # the two good answers before it are not in either


def test_text_that_is_not_minutes_is_refused(org, run, tmp_path):
    path = tmp_path / "メモ.txt"
    path.write_text("防災対策についての打合せメモ。\n来週までに資料を用意する。\n", encoding="utf-8")
    result = run("archive", "import", str(path))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "会議録として読み取れませんでした" in result.stderr
    forced = run("archive", "import", str(path), "--format", "minutes")
    assert forced.returncode == 1 and "議員の質問と答弁の組を読み取れませんでした" in forced.stderr
    assert rows(org) == []


def test_an_unknown_encoding_is_refused(org, run, tmp_path):
    path = tmp_path / "会議録.txt"
    path.write_bytes(NOISY.encode("euc-jp", errors="ignore"))
    result = run("archive", "import", str(path))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "文字コード" in result.stderr
    assert rows(org) == []


@pytest.mark.parametrize("encoding", ["cp932", "utf-16", "utf-8-sig"])
def test_minutes_in_each_encoding_import(org, run, tmp_path, encoding):
    path = tmp_path / "会議録.txt"
    path.write_bytes(NOISY.encode(encoding))
    assert run("archive", "import", str(path)).returncode == 0
    assert [r[STORED.index("answerer")] for r in rows(org)] == ["市長", "教育長", "総務部長"]


def test_a_docx_whose_body_is_minutes(org, run, tmp_path):
    document = docx.Document()
    for line in NOISY.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "会議録.docx"
    document.save(str(path))
    result = run("archive", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "（会議録）: 答弁 3件" in result.stdout
    assert len(rows(org)) == 3


def test_format_minutes_needs_text_or_word(run, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    result = run("archive", "import", str(path), "--format", "minutes")
    assert result.returncode == 1 and ".txt" in result.stderr


def test_an_answerer_without_a_division_leaves_it_empty_and_flagged(org, tmp_path):
    text = NOISY.replace("◎総務部長（高橋三郎君）", "◎上下水道事業管理者（高橋三郎君）")
    seen = []
    with session_scope(org) as db:
        result = import_minutes(db, org, text, "会議録.txt", progress=lambda done, total: seen.append((done, total)))
    last = result.records[-1]
    assert last["answerer"] == "上下水道事業管理者" and "department" not in last
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("◎上下水道"))
    assert [f["line"] for f in result.flagged] == [line] and "上下水道事業管理者" in result.flagged[0]["reason"]
    assert result.counts["department_unsure"] == 1
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with session_scope(org) as db:
        assert db.scalar(select(func.count()).select_from(PastAnswer)) == 3


def test_a_file_is_written_in_one_commit(org, minutes, monkeypatch):
    """Whatever the archive's batch size, a failure while writing a minutes file leaves none of it."""
    from councilbot.services import archive

    real_flush = archive._flush

    def failing_flush(db, settings, batch, lines, report, unit):  # type: ignore[no-untyped-def]
        if any(v["answerer"] == "総務部長" for v in batch):
            raise RuntimeError("disk full")
        real_flush(db, settings, batch, lines, report, unit)

    monkeypatch.setattr(archive, "BATCH_SIZE", 1)
    monkeypatch.setattr(archive, "_flush", failing_flush)
    with pytest.raises(RuntimeError), session_scope(org) as db:
        import_minutes(db, org, minutes.read_text(encoding="utf-8"), minutes.name)
    assert rows(org) == []
    with session_scope(org) as db:
        assert search_archive(db, org, "避難所") == []
